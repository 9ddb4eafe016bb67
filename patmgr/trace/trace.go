// Package trace writes troubleshooting lines (--trace, AZDO_TRACE=1) that can be pasted into an
// issue: no request or response body, no secret.
package trace

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/redact"
)

// Tracer writes trace lines to stderr. Each line goes through redact.Line, which scrubs every
// secret this process has handled, as a second line of defence. A nil Tracer traces nothing.
type Tracer struct {
	mu sync.Mutex // one line at a time
	w  io.Writer  // nil: tracing off
}

// New returns a Tracer writing to w; nil w traces nothing.
func New(w io.Writer) *Tracer { return &Tracer{w: w} }

// Printf writes one trace line.
func (t *Tracer) Printf(format string, args ...any) {
	if t == nil || t.w == nil {
		return
	}
	line := redact.Line(fmt.Sprintf(format, args...))
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "git-credential-azdo: trace: %s\n", line)
}

// Request traces one HTTP exchange: its method, URL without credentials, and outcome.
func (t *Tracer) Request(req *http.Request, resp *http.Response, err error, took time.Duration) {
	if t == nil || t.w == nil {
		return
	}
	outcome := fmt.Sprint(err)
	if err == nil {
		outcome = fmt.Sprintf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	t.Printf("%s %s: %s (%s)", req.Method, redactURL(req.URL), outcome, took.Round(time.Millisecond))
}

// sensitiveParams may carry a credential in a query string.
var sensitiveParams = []string{"code", "token", "access_token", "refresh_token", "id_token", "client_secret", "password", "assertion", "device_code"}

func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", "" // an implicit grant returns tokens there
	q := c.Query()
	for k := range q {
		if slices.Contains(sensitiveParams, strings.ToLower(k)) {
			q.Set(k, "REDACTED")
		}
	}
	c.RawQuery = q.Encode()
	return c.String()
}
