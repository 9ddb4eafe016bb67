package signin

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
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
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	untrusted := httptest.NewTLSServer(http.NotFoundHandler())
	defer untrusted.Close()
	refusingProxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer refusingProxy.Close()
	proxyURL, _ := url.Parse(refusingProxy.URL)
	deadProxy, _ := url.Parse("http://" + closed())
	cases := []struct {
		name, authority string
		proxy           *url.URL
		want            string
	}{
		{"refused", "https://" + closed(), nil, "the connection was refused"},
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
