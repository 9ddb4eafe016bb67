package azdotest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Endpoint names, used by counters and by fault injection.
var endpointNames = []string{
	"openid-configuration", "authorize", "token", "devicecode", "org",
	"pats.list", "pats.get", "pats.create", "pats.update", "pats.revoke",
	"profile", "accounts", "git", "instance-discovery", "userrealm", "devicelogin", "signin",
}

// Fault kinds.
const (
	FaultStatus   = "status"   // answer Status (e.g. 429 with RetryAfter, 500, 503) instead of the real reply
	FaultHTML203  = "html203"  // answer 203 with an HTML sign-in page, as Azure DevOps does for bad auth
	FaultDelay    = "delay"    // wait Delay, then answer normally
	FaultTruncate = "truncate" // send the real status and headers, then only the first half of the body
	// FaultPATError answers as the PAT API does when it refuses: patTokenError Code, with Status
	// (200 if 0: the service does not document that a refusal is also an error status).
	FaultPATError = "paterror"
	// FaultDrop closes the connection without answering. Go's transport
	// (like many clients) replays an idempotent request once when a reused
	// keep-alive connection dies, so give a GET Count 2 to make it surface.
	FaultDrop = "drop"
	// FaultSignInRedirect answers 302 to SignInURL, as Azure DevOps does for a token it does not
	// accept from a client that did not ask it to suppress the redirect; it does so even when the
	// client asked (X-TFS-FedAuthRedirect: Suppress): a service that redirects anyway, whose
	// redirect the client must not follow with the token.
	FaultSignInRedirect = "signinredirect"
	// FaultTamper lets the real handler act (a create makes its PAT), then answers with the
	// fields of Set replaced in the answer's patToken, its status and headers kept: a broken or
	// hostile service's answer, such as a secret with a line break or a validTo in the past. An
	// answer that is not JSON goes out as it is.
	FaultTamper = "tamper"
)

// Fault makes the next Count requests to Endpoint misbehave.
type Fault struct {
	Endpoint   string         `json:"endpoint"`
	Kind       string         `json:"kind"`
	Status     int            `json:"status,omitempty"`
	Code       string         `json:"code,omitempty"`    // kind paterror
	Message    string         `json:"message,omitempty"` // kind paterror: its patTokenErrorMessage, if not the default
	Set        map[string]any `json:"set,omitempty"`     // kind tamper: patToken fields to replace
	RetryAfter time.Duration  `json:"-"`                 // sent as whole seconds in Retry-After (kind status)
	Delay      time.Duration  `json:"-"`                 // kind delay
	Count      int            `json:"count"`             // 0 means 1
}

// Counters are what the server has seen since it started.
type Counters struct {
	Requests    map[string]int `json:"requests"` // by endpoint name
	Grants      map[string]int `json:"grants"`   // successful token issues by grant type
	PATsCreated int            `json:"patsCreated"`
	PATsRenewed int            `json:"patsRenewed"` // successful updates that set validTo
	PATsRevoked int            `json:"patsRevoked"` // through the API or RevokePAT
}

// InjectFault queues a fault. Faults for one endpoint apply in the order
// they were injected.
func (s *Server) InjectFault(f Fault) error {
	known := false
	for _, n := range endpointNames {
		known = known || n == f.Endpoint
	}
	if !known {
		return fmt.Errorf("unknown endpoint %q", f.Endpoint)
	}
	switch f.Kind {
	case FaultStatus:
		if f.Status < 100 || f.Status > 599 {
			return fmt.Errorf("fault status %d out of range", f.Status)
		}
	case FaultDelay:
		if f.Delay <= 0 {
			return fmt.Errorf("delay fault needs a positive delay")
		}
	case FaultPATError:
		if !strings.HasPrefix(f.Endpoint, "pats.") || f.Code == "" || f.Status != 0 && (f.Status < 200 || f.Status > 599) {
			return fmt.Errorf("a paterror fault needs a pats.* endpoint, a code and no status or one from 200 to 599")
		}
	case FaultTamper:
		if f.Endpoint != "pats.create" && f.Endpoint != "pats.update" || len(f.Set) == 0 {
			return fmt.Errorf("a tamper fault needs an endpoint that answers with a patToken (pats.create, pats.update) and fields to set")
		}
	case FaultHTML203, FaultTruncate, FaultDrop, FaultSignInRedirect:
	default:
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	if f.Count <= 0 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
	return nil
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// Counters returns a snapshot of the counters.
func (s *Server) Counters() Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counters
	c.Requests = copyMap(s.counters.Requests)
	c.Grants = copyMap(s.counters.Grants)
	return c
}

// WaitFor waits until the counters satisfy done, or ctx ends: a test's way to catch a client
// at a given step (signing in, creating a PAT) without polling.
func (s *Server) WaitFor(ctx context.Context, done func(Counters) bool) error {
	for {
		s.mu.Lock()
		counted := s.counted
		s.mu.Unlock()
		if done(s.Counters()) {
			return nil
		}
		select {
		case <-counted:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the emulator's counters (now %v): %w", s.Counters().Requests, ctx.Err())
		}
	}
}

func copyMap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// wakeLocked wakes every WaitFor to look at the counters again.
func (s *Server) wakeLocked() {
	close(s.counted)
	s.counted = make(chan struct{})
}

// takeFaultLocked counts a request to endpoint and pops the fault that
// applies to it, if any.
func (s *Server) takeFaultLocked(endpoint string) *Fault {
	s.counters.Requests[endpoint]++
	s.wakeLocked()
	for i, f := range s.faults {
		if f.Endpoint != endpoint {
			continue
		}
		taken := *f
		f.Count--
		if f.Count == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return &taken
	}
	return nil
}

// instrument is the one middleware every request passes through: it counts
// the request under its endpoint name and applies any queued fault, so tests
// observe exactly what a client would.
func (s *Server) instrument(endpoint string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		f := s.takeFaultLocked(endpoint)
		s.mu.Unlock()
		// The handler counts what it did (a PAT made, a grant): WaitFor looks again after it.
		defer func() {
			s.mu.Lock()
			s.wakeLocked()
			s.mu.Unlock()
		}()
		if f == nil {
			h.ServeHTTP(w, r)
			return
		}
		s.logf("fault %s on %s %s", f.Kind, endpoint, r.URL.Path)
		switch f.Kind {
		case FaultStatus:
			if f.RetryAfter > 0 {
				secs := int((f.RetryAfter + time.Second - 1) / time.Second)
				w.Header().Set("Retry-After", strconv.Itoa(secs))
			}
			writeJSON(w, f.Status, map[string]any{"message": fmt.Sprintf("injected fault: HTTP %d", f.Status)})
		case FaultHTML203:
			signInPage(w)
		case FaultSignInRedirect:
			s.redirectToSignIn(w, r)
		case FaultPATError:
			writePATResult(w, r, nil, &patError{cmp.Or(f.Status, http.StatusOK), f.Code, cmp.Or(f.Message, "injected fault: "+f.Code)})
		case FaultDelay:
			t := time.NewTimer(f.Delay)
			defer t.Stop()
			select {
			case <-t.C:
				h.ServeHTTP(w, r)
			case <-r.Context().Done():
				// Nothing left to answer; returning without a reply would send an empty 200.
				panic(http.ErrAbortHandler)
			}
		case FaultTamper:
			rec := &recorder{header: http.Header{}, status: http.StatusOK}
			h.ServeHTTP(rec, r)
			body := rec.body.Bytes()
			var answer map[string]any
			if json.Unmarshal(body, &answer) == nil {
				if pat, ok := answer["patToken"].(map[string]any); ok {
					maps.Copy(pat, f.Set)
				}
				body, _ = json.Marshal(answer)
			}
			maps.Copy(w.Header(), rec.header)
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.status)
			_, _ = w.Write(body)
		case FaultTruncate:
			rec := &recorder{header: http.Header{}, status: http.StatusOK}
			h.ServeHTTP(rec, r)
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			// Declare only the bytes we send: the client sees a clean but
			// incomplete body (a decode error), not a transport error.
			body := rec.body.Bytes()
			body = body[:len(body)/2]
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.status)
			_, _ = w.Write(body)
		case FaultDrop:
			hj, ok := w.(http.Hijacker)
			if !ok {
				panic(http.ErrAbortHandler) // still aborts the stream without a reply
			}
			conn, _, err := hj.Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}
	})
}

// recorder buffers a handler's reply for the truncate and tamper faults.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}
