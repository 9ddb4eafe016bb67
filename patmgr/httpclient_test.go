package patmgr

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// flakyServer answers the first fails requests with status (and Retry-After when set), then 200.
func flakyServer(t *testing.T, fails int, status int, retryAfter string) (*http.Client, string, *atomic.Int64) {
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
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := newHTTPClient(ca, newTracer(nil))
	if err != nil {
		t.Fatal(err)
	}
	return c, srv.URL, &n
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	c, url, n := flakyServer(t, 1, http.StatusTooManyRequests, "1")
	start := time.Now()
	resp, err := c.Get(url + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || n.Load() != 2 {
		t.Fatalf("status %d after %d requests", resp.StatusCode, n.Load())
	}
	if d := time.Since(start); d < 950*time.Millisecond {
		t.Fatalf("retried after %s, before Retry-After's second", d)
	}
}

// A Retry-After longer than the time left is not waited for: the answer comes back at once.
func TestRetryStopsAtTheDeadline(t *testing.T) {
	c, url, n := flakyServer(t, 10, http.StatusServiceUnavailable, "30")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/x", nil)
	start := time.Now()
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %s though the deadline could not cover Retry-After", d)
	}
	if n.Load() != 1 {
		t.Fatalf("%d requests, want 1", n.Load())
	}
}

// Without Retry-After, 5xx is retried with backoff up to maxAttempts, all inside the deadline.
func TestRetryBacksOffAndGivesUp(t *testing.T) {
	c, url, n := flakyServer(t, 100, http.StatusInternalServerError, "")
	start := time.Now()
	resp, err := c.Get(url + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 || n.Load() != maxAttempts {
		t.Fatalf("status %d after %d requests, want 500 after %d", resp.StatusCode, n.Load(), maxAttempts)
	}
	// 100-200ms + 200-400ms + 400-800ms of backoff.
	if d := time.Since(start); d < 700*time.Millisecond || d > 3*time.Second {
		t.Fatalf("three backoffs took %s", d)
	}
}

// PAT creation is a POST with a side effect: the transport does not retry it, unless a 429 says
// the service did nothing.
func TestCreateIsNotRetried(t *testing.T) {
	c, url, n := flakyServer(t, 1, http.StatusServiceUnavailable, "")
	resp, err := c.Post(url+"/contoso/_apis/tokens/pats", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || n.Load() != 1 {
		t.Fatalf("create: status %d after %d requests, want one 503", resp.StatusCode, n.Load())
	}
	c, url, n = flakyServer(t, 1, http.StatusTooManyRequests, "")
	resp, err = c.Post(url+"/contoso/_apis/tokens/pats", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || n.Load() != 2 {
		t.Fatalf("create after a 429: status %d after %d requests, want 200 after 2", resp.StatusCode, n.Load())
	}
	// The token endpoint's POST is retried.
	c, url, n = flakyServer(t, 1, http.StatusServiceUnavailable, "")
	resp, err = c.Post(url+"/tenant/oauth2/v2.0/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || n.Load() != 2 {
		t.Fatalf("token: status %d after %d requests", resp.StatusCode, n.Load())
	}
}

func TestHTTPIsRefused(t *testing.T) {
	c, _, _ := flakyServer(t, 0, 200, "")
	if _, err := c.Get("http://127.0.0.1:1/x"); err == nil || !strings.Contains(err.Error(), "https only") {
		t.Fatalf("plain http: %v", err)
	}
}
