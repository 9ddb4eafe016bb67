package azdotest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

func newTestServer(t *testing.T, opts Options) *Server {
	t.Helper()
	testenv.SkipOnWindows(t, "git (Git for Windows), which the emulator serves repositories with")
	if opts.Dir == "" {
		opts.Dir = testenv.TempDir(t)
	}
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	s, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	// Logging after the test ends would panic: stop the server first.
	t.Cleanup(s.Close)
	return s
}

// do sends a request and returns status, headers and body.
func do(t *testing.T, c *http.Client, method, url, auth string, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, b
}

func decodeJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
}

func basic(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}
