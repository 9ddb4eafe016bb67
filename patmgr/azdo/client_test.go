package azdo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// flakyServer answers the first fails requests with status (and Retry-After when set), then 200.
func flakyServer(t *testing.T, fails int, status int, retryAfter string) (*Client, string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if int(n.Add(1)) <= fails {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	c := clientTrusting(t, srv)
	return c, srv.URL, &n
}

// recordWaits makes c's retries note each wait instead of sleeping it, and returns the notes.
func recordWaits(c *Client) func() []time.Duration {
	var mu sync.Mutex
	var waits []time.Duration
	c.Transport.(*retryTransport).pause = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		return ctx.Err()
	}
	return func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(waits)
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	c, url, n := flakyServer(t, 1, http.StatusTooManyRequests, "1")
	waits := recordWaits(c)
	resp, err := c.Get(url + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || n.Load() != 2 {
		t.Fatalf("status %d after %d requests", resp.StatusCode, n.Load())
	}
	if w := waits(); !slices.Equal(w, []time.Duration{time.Second}) {
		t.Fatalf("waited %v before the retry, want Retry-After's second", w)
	}
}

// A Retry-After longer than the time left is not waited for: the answer comes back before the
// deadline, which waiting would have reached.
func TestRetryStopsAtTheDeadline(t *testing.T) {
	c, url, n := flakyServer(t, 10, http.StatusServiceUnavailable, "50")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/x", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET: %v, want the 503 at once", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || n.Load() != 1 || ctx.Err() != nil {
		t.Fatalf("status %d after %d requests, deadline %v; want one 503 before the deadline", resp.StatusCode, n.Load(), ctx.Err())
	}
}

// Without Retry-After, 5xx is retried with backoff up to maxAttempts, all inside the deadline.
func TestRetryBacksOffAndGivesUp(t *testing.T) {
	c, url, n := flakyServer(t, 100, http.StatusInternalServerError, "")
	// The backoff stays far inside this deadline, which must not expire.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/x", nil)
	waits := recordWaits(c)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 || n.Load() != maxAttempts || ctx.Err() != nil {
		t.Fatalf("status %d after %d requests, deadline %v; want 500 after %d", resp.StatusCode, n.Load(), ctx.Err(), maxAttempts)
	}
	// Each wait is drawn from the upper half of a ceiling that doubles: 200ms, 400ms, 800ms.
	w := waits()
	if len(w) != maxAttempts-1 {
		t.Fatalf("waited %v, want %d waits", w, maxAttempts-1)
	}
	for i, d := range w {
		if ceiling := 200 * time.Millisecond << i; d < ceiling/2 || d >= ceiling {
			t.Errorf("wait %d was %s, want from %s up to %s", i+1, d, ceiling/2, ceiling)
		}
	}
}

// PAT creation is a POST with a side effect: the transport does not retry it, unless a 429 says
// the service did nothing. The token endpoint's POST is retried.
func TestCreateIsNotRetried(t *testing.T) {
	for _, tc := range []struct {
		path, contentType string
		fail              int // the status of the first answer
		want, requests    int
	}{
		{"/contoso/_apis/tokens/pats", "application/json", http.StatusServiceUnavailable, 503, 1},
		{"/contoso/_apis/tokens/pats", "application/json", http.StatusTooManyRequests, 200, 2},
		{"/tenant/oauth2/v2.0/token", "application/x-www-form-urlencoded", http.StatusServiceUnavailable, 200, 2},
	} {
		c, url, n := flakyServer(t, 1, tc.fail, "")
		resp, err := c.Post(url+tc.path, tc.contentType, strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want || n.Load() != int64(tc.requests) {
			t.Errorf("POST %s after a %d: status %d after %d requests, want %d after %d", tc.path, tc.fail, resp.StatusCode, n.Load(), tc.want, tc.requests)
		}
	}
}

func TestHTTPIsRefused(t *testing.T) {
	c, _, _ := flakyServer(t, 0, 200, "")
	if _, err := c.Get("http://127.0.0.1:1/x"); err == nil || !strings.Contains(err.Error(), "https only") {
		t.Fatalf("plain http: %v", err)
	}
}

// newRoot returns a server certificate for 127.0.0.1 issued by a CA of its own, a pool trusting
// that CA, and the CA in PEM.
func newRoot(t *testing.T) (tls.Certificate, *x509.CertPool, []byte) {
	t.Helper()
	cert, caPEM, err := azdotest.LoopbackCertificate()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return cert, pool, caPEM
}

// direct is the proxy setting of a client that goes through none.
func direct(*http.Request) (*url.URL, error) { return nil, nil }

// echoServer serves https with cert, answering each request with its body.
func echoServer(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// clientWithCAFile is NewClient's HTTP client with caPEM as its --ca-file and system standing in
// for the system's roots, going through proxy.
func clientWithCAFile(t *testing.T, caPEM []byte, system *x509.CertPool, proxy func(*http.Request) (*url.URL, error)) *http.Client {
	t.Helper()
	caFile := filepath.Join(testenv.TempDir(t), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	roots, err := rootsWith(caFile, func() (*x509.CertPool, error) { return system.Clone(), nil })
	if err != nil {
		t.Fatal(err)
	}
	return newClient(roots, proxy, nil)
}

// closingBody is a request body that cannot be read once closed, as a file's or a pipe's.
type closingBody struct {
	r      io.Reader
	closed atomic.Bool
}

func (b *closingBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errors.New("read of a closed body")
	}
	return b.r.Read(p)
}

func (b *closingBody) Close() error { b.closed.Store(true); return nil }

// --ca-file adds to the system's roots: a host either vouches for is trusted, a PAT create's body
// intact; a host neither vouches for is refused, in a line that names the fix.
func TestCAFileAddsToTheSystemRoots(t *testing.T) {
	caCert, _, caPEM := newRoot(t)
	systemCert, systemRoots, _ := newRoot(t) // stands in for the system's roots
	strangerCert, _, _ := newRoot(t)
	c := clientWithCAFile(t, caPEM, systemRoots, direct)
	post := func(url string) (string, error) {
		// A PAT create: a POST that is not retried.
		const body = `{"scope":"vso.code"}`
		req, err := http.NewRequest(http.MethodPost, url+"/contoso/_apis/tokens/pats", &closingBody{r: strings.NewReader(body)})
		if err != nil {
			return "", err
		}
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		echo, err := io.ReadAll(resp.Body)
		return string(echo), err
	}
	for name, srv := range map[string]string{"the CA file": echoServer(t, caCert), "the system's roots": echoServer(t, systemCert)} {
		if body, err := post(srv); err != nil || body != `{"scope":"vso.code"}` {
			t.Errorf("POST to a host only %s vouches for: %q, %v", name, body, err)
		}
	}

	stranger := echoServer(t, strangerCert)
	_, err := post(stranger)
	var unverified *tls.CertificateVerificationError
	if !errors.As(err, &unverified) {
		t.Fatalf("POST to a host nobody vouches for: %v, want a certificate error", err)
	}
	why, ok := (&Client{proxy: direct}).ExplainNetwork(err)
	if want := "cannot reach " + strings.TrimPrefix(stranger, "https://") + " securely: its certificate is not trusted"; !ok || !strings.HasPrefix(why, want) || !strings.HasSuffix(why, "add its CA with --ca-file") {
		t.Errorf("the refusal reads %q, want it to start %q and name --ca-file", why, want)
	}
}

// A CA file without a certificate is refused before anything is sent.
func TestCAFileWithoutACertificateIsRefused(t *testing.T) {
	caFile := filepath.Join(testenv.TempDir(t), "ca.pem")
	if err := os.WriteFile(caFile, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := rootsWith(caFile, x509.SystemCertPool); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Fatalf("a CA file without a certificate: %v", err)
	}
}

// httpsProxy is a CONNECT proxy served over https with cert.
func httpsProxy(t *testing.T, cert tls.Certificate) *url.URL {
	t.Helper()
	srv := httptest.NewUnstartedServer(azdotest.TunnelHandler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Through an https proxy each connection is verified twice, the proxy's certificate and then the
// host's: with one signed by the CA file and the other by a system root, both are trusted.
func TestCAFileAddsToTheSystemRootsThroughAnHTTPSProxy(t *testing.T) {
	caCert, _, caPEM := newRoot(t)
	systemCert, systemRoots, _ := newRoot(t)
	for _, tc := range []struct {
		name          string
		proxy, origin tls.Certificate
	}{
		{"proxy signed by the CA file, host by a system root", caCert, systemCert},
		{"proxy signed by a system root, host by the CA file", systemCert, caCert},
		{"both signed by the CA file", caCert, caCert},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := clientWithCAFile(t, caPEM, systemRoots, http.ProxyURL(httpsProxy(t, tc.proxy)))
			resp, err := c.Post(echoServer(t, tc.origin)+"/x", "application/json", strings.NewReader("through"))
			if err != nil {
				t.Fatalf("POST through the proxy: %v", err)
			}
			defer resp.Body.Close()
			if body, _ := io.ReadAll(resp.Body); string(body) != "through" {
				t.Fatalf("POST through the proxy: %d %q", resp.StatusCode, body)
			}
		})
	}
}

// A failed request whose body cannot be had again is not retried without it: it fails, saying so.
func TestRetryNeedsTheBodyAgain(t *testing.T) {
	c, url, n := flakyServer(t, 1, http.StatusServiceUnavailable, "")
	req, _ := http.NewRequest(http.MethodPut, url+"/x", &closingBody{r: strings.NewReader("once")})
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "cannot be replayed") || n.Load() != 1 {
		t.Fatalf("PUT of a body that cannot be replayed, after a 503: %v after %d requests; want the reason after 1", err, n.Load())
	}
}

// clientTrusting is the helper's Client for the service at srv, with srv's certificate as its
// --ca-file.
func clientTrusting(t *testing.T, srv *httptest.Server) *Client {
	t.Helper()
	cfg := config.Defaults()
	cfg.ServiceURL, cfg.CAFile = srv.URL, filepath.Join(testenv.TempDir(t), "ca.pem")
	if err := os.WriteFile(cfg.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(&cfg, direct, nil)
	if err != nil {
		t.Fatal(err)
	}
	recordWaits(c) // retries go again at once
	return c
}

// Offline cannot be made on loopback: the dial error an unplugged machine gets is built here.
func TestOfflineIsSaidSo(t *testing.T) {
	err := &url.Error{Op: "Post", URL: "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}}
	got, ok := (&Client{proxy: direct}).ExplainNetwork(err)
	if want := "cannot reach login.microsoftonline.com: the network is unreachable: are you offline?"; !ok || got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}
