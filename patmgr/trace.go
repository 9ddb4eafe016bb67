package patmgr

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/redact"
)

// tracer writes troubleshooting lines (--trace, AZDO_TRACE=1) to stderr. It never sees request or
// response bodies, and each line goes through redact.Line, which scrubs every secret this process
// has handled, as a second line of defence, so a trace can be pasted into an issue.
type tracer struct {
	mu sync.Mutex // one line at a time
	w  io.Writer  // nil: tracing off
}

func newTracer(w io.Writer) *tracer { return &tracer{w: w} }

// hide registers a secret to scrub from every later line this process prints (redact.Hide).
func (t *tracer) hide(secret string) { redact.Hide(secret) }

func (t *tracer) printf(format string, args ...any) {
	if t == nil || t.w == nil {
		return
	}
	line := redact.Line(fmt.Sprintf(format, args...))
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "git-credential-azdo: trace: %s\n", line)
}

func (t *tracer) request(req *http.Request, resp *http.Response, err error, took time.Duration) {
	if t == nil || t.w == nil {
		return
	}
	target := redactURL(req.URL)
	switch {
	case err != nil:
		t.printf("%s %s: %v (%s)", req.Method, target, err, took.Round(time.Millisecond))
	default:
		t.printf("%s %s: %d %s (%s)", req.Method, target, resp.StatusCode, resp.Header.Get("Content-Type"), took.Round(time.Millisecond))
	}
}

// sensitiveParams may carry a credential in a query string.
var sensitiveParams = []string{"code", "token", "access_token", "refresh_token", "id_token", "client_secret", "password", "assertion", "device_code"}

func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	q := c.Query()
	for _, k := range sensitiveParams {
		if q.Has(k) {
			q.Set(k, "REDACTED")
		}
	}
	c.RawQuery = q.Encode()
	return c.String()
}
