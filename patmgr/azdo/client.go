// Package azdo is Azure DevOps over HTTP, the client side of what azdotest emulates: the one
// https-only, retrying client (Entra ID's too), the PAT Lifecycle API, tenant discovery, and the
// profile and accounts reads.
package azdo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/trace"
)

// RequestTimeout bounds one HTTP exchange; retries and sign-in run under the operation's deadline.
const RequestTimeout = 30 * time.Second

const maxAttempts = 4

// Client is the one HTTP client for Entra ID and Azure DevOps, and the calls this tool makes to
// Azure DevOps with it. It speaks only https, follows no redirects (a redirect could carry a bearer
// token elsewhere or downgrade to http), and retries what is safe to retry.
type Client struct {
	*http.Client
	cfg   *config.Config
	proxy func(*http.Request) (*url.URL, error)
}

// NewClient returns the Client for cfg's service, going through proxy (http.ProxyFromEnvironment
// but in tests).
func NewClient(cfg *config.Config, proxy func(*http.Request) (*url.URL, error), tr *trace.Tracer) (*Client, error) {
	roots, err := rootsWith(cfg.CAFile, x509.SystemCertPool)
	if err != nil {
		return nil, err
	}
	return &Client{Client: newClient(roots, proxy, tr), cfg: cfg, proxy: proxy}, nil
}

// rootsWith returns the roots to trust: those of system plus the certificates of caFile, or nil
// (the system's roots) without a CA file.
func rootsWith(caFile string, system func() (*x509.CertPool, error)) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading --ca-file: %w", err)
	}
	roots, err := system()
	if err != nil {
		roots = x509.NewCertPool() // no system roots to add to: the CA file's alone
	}
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", caFile)
	}
	return roots, nil
}

// newClient returns the HTTP client of NewClient, verifying servers against roots (nil: the
// system's roots).
func newClient(roots *x509.CertPool, proxy func(*http.Request) (*url.URL, error), tr *trace.Tracer) *http.Client {
	return &http.Client{
		Transport: &retryTransport{next: &http.Transport{
			Proxy:                 proxy,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: RequestTimeout,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   4,
		}, trace: tr},
		Timeout: 2 * RequestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// suppressSignInRedirect asks Azure DevOps to answer a token it does not accept with 401 rather
// than a redirect to its sign-in page, as Microsoft's own clients do.
func suppressSignInRedirect(req *http.Request) { req.Header.Set("X-TFS-FedAuthRedirect", "Suppress") }

// retryTransport retries idempotent requests and Entra's token endpoints on 429, 5xx and transport
// errors, with exponential backoff and full jitter, honouring Retry-After, always inside the
// request's context deadline. PAT creation (POST) is retried here only on a 429: otherwise Manager
// decides, because a lost answer may mean a PAT was made.
type retryTransport struct {
	next  http.RoundTripper
	trace *trace.Tracer
	// pause waits between attempts: a timer, unless a test notes the waits instead.
	pause func(ctx context.Context, d time.Duration) error
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return nil, fmt.Errorf("refusing to send a request over %s to %s: https only", req.URL.Scheme, req.URL.Host)
	}
	retryable := isRetryable(req)
	for attempt := 1; ; attempt++ {
		start := time.Now()
		resp, err := t.next.RoundTrip(req)
		t.trace.Request(req, resp, err, time.Since(start))
		// A 429 refused the request before doing anything, so even a PAT create can go again.
		throttled := err == nil && resp.StatusCode == http.StatusTooManyRequests
		if !retryable && !throttled || attempt == maxAttempts || !shouldRetry(req, resp, err) {
			return resp, err
		}
		wait := backoff(attempt, resp)
		if deadline, ok := req.Context().Deadline(); ok && time.Until(deadline) < wait {
			return resp, err
		}
		failure := err
		if resp != nil {
			resp.Body.Close()
			failure = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		// A round trip closes the body it sent: the next one needs a fresh one from GetBody.
		next := req.Clone(req.Context())
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return nil, fmt.Errorf("%s %s failed and cannot be replayed: %w", req.Method, req.URL.Path, failure)
			}
			if next.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		req = next
		t.trace.Printf("retrying %s %s in %s (attempt %d of %d)", req.Method, req.URL.Path, wait.Round(time.Millisecond), attempt+1, maxAttempts)
		if err := t.wait(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

func (t *retryTransport) wait(ctx context.Context, d time.Duration) error {
	if t.pause != nil {
		return t.pause(ctx, d)
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func isRetryable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
		return true
	case http.MethodPost:
		// Token and device-code requests carry no side effect a retry could double.
		p := req.URL.Path
		return strings.HasSuffix(p, "/oauth2/v2.0/token") || strings.HasSuffix(p, "/oauth2/v2.0/devicecode")
	}
	return false
}

func shouldRetry(req *http.Request, resp *http.Response, err error) bool {
	if req.Context().Err() != nil {
		return false
	}
	var unverified *tls.CertificateVerificationError
	if errors.As(err, &unverified) {
		return false // the certificate will be the same next time
	}
	if err != nil {
		return true // a reset or EOF on a flaky network is worth another try
	}
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
}

func backoff(attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if s := resp.Header.Get("Retry-After"); s != "" {
			if secs, err := strconv.Atoi(s); err == nil && secs >= 0 {
				return min(time.Duration(secs)*time.Second, time.Minute)
			}
			if at, err := http.ParseTime(s); err == nil {
				return min(max(time.Until(at), 0), time.Minute)
			}
		}
	}
	ceiling := 200 * time.Millisecond << (attempt - 1)
	return ceiling/2 + rand.N(ceiling/2)
}
