package signin

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdo"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// networkError signs in with the password flow at authority through the client proxy picks.
func networkError(t *testing.T, authority string, proxy func(*http.Request) (*url.URL, error)) string {
	t.Helper()
	cfg := config.Defaults()
	cfg.Authority, cfg.Username, cfg.Password = authority, "alice@contoso.example", "pw"
	st, err := store.NewFile(filepath.Join(testenv.TempDir(t), "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	var prompt bytes.Buffer
	client, err := azdo.NewClient(&cfg, proxy, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := New(&cfg, client, st, Environment{}, &prompt, nil, login)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = s.interactive(ctx, "", "contoso.example", "", config.LoginPassword, "")
	if err == nil {
		t.Fatal("signed in")
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("not one line: %q", err)
	}
	return err.Error()
}

func TestNetworkFailuresKeepTheirCause(t *testing.T) {
	noSuchHosts(t)
	untrusted := httptest.NewTLSServer(http.NotFoundHandler())
	defer untrusted.Close()
	refusingProxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer refusingProxy.Close()
	proxyURL, _ := url.Parse(refusingProxy.URL)
	deadProxy, _ := url.Parse("http://" + refusingAddr(t))
	cases := []struct {
		name, authority string
		proxy           *url.URL
		want            string
	}{
		{"refused", "https://" + refusingAddr(t), nil, "the connection was refused"},
		{"dns", "https://login.nonexistent.invalid", nil, "cannot reach login.nonexistent.invalid: the name login.nonexistent.invalid does not resolve (no such host)"},
		{"tls", untrusted.URL, nil, "cannot reach " + strings.TrimPrefix(untrusted.URL, "https://") + " securely: its certificate is not trusted"},
		{"proxy refuses", "https://login.example.invalid", proxyURL, "the proxy " + refusingProxy.URL + " (HTTPS_PROXY) would not connect to login.example.invalid: Forbidden"},
		{"proxy down", "https://login.example.invalid", deadProxy, "cannot reach the proxy " + deadProxy.String() + " (HTTPS_PROXY) on the way to login.example.invalid: the connection was refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msg := networkError(t, tc.authority, http.ProxyURL(tc.proxy))
			if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "signing in (password) at "+tc.authority+"/contoso.example: ") {
				t.Fatalf("got  %s\nwant %s", msg, tc.want)
			}
		})
	}
}

// refusingAddr returns a loopback address that refuses connections for the rest of the test: the
// port stays held by one end of a connection, which no one else can then bind and which does not
// listen.
func refusingAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// Accepted, the connection outlives the listener: closing it with the connection still queued
	// would reset the connection and free the port.
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return c.LocalAddr().String()
}

// noSuchHosts answers the test's DNS lookups with NXDOMAIN, as the DNS answers a name under
// .invalid, whether or not the machine can reach a DNS server. The client's dialer resolves with
// net.DefaultResolver, replaced for the test: no test of the package runs in parallel.
func noSuchHosts(t *testing.T) {
	if runtime.GOOS == "windows" {
		return // names resolve through Windows' own API, not the Go resolver: the machine's answers
	}
	dns, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := dns.ReadFrom(buf)
			if err != nil {
				return
			}
			// The query's ID and question, with the flags of a recursive server's NXDOMAIN.
			q, end := buf[:n], 12
			for end < n && q[end] != 0 {
				end += int(q[end]) + 1
			}
			if end += 5; end > n {
				continue
			}
			dns.WriteTo(append([]byte{q[0], q[1], 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0}, q[12:end]...), from)
		}
	}()
	saved := net.DefaultResolver
	t.Cleanup(func() { net.DefaultResolver = saved })
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", dns.LocalAddr().String())
	}}
}
