// Package azdo is Azure DevOps over HTTP, the client side of what azdotest emulates: the one
// https-only, retrying client (Entra ID's too), the PAT Lifecycle API, tenant discovery, and the
// profile and accounts reads.
package azdo

import (
	"cmp"
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
	"sync"
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

// NewClient returns the Client for cfg's service, trusting cfg.CAFile besides the system's roots
// and going through proxy (http.ProxyFromEnvironment but in tests).
func NewClient(cfg *config.Config, proxy func(*http.Request) (*url.URL, error), tr *trace.Tracer) (*Client, error) {
	var caPEM []byte
	if cfg.CAFile != "" {
		var err error
		if caPEM, err = os.ReadFile(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("reading --ca-file: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("--ca-file %s holds no PEM certificate", cfg.CAFile)
		}
	}
	return &Client{Client: newClient(caPEM, nil, proxy, tr), cfg: cfg, proxy: proxy}, nil
}

// newClient returns the HTTP client of NewClient, going through proxy and trusting system (nil:
// the system's roots) and the certificates of caPEM, if any.
func newClient(caPEM []byte, system *x509.CertPool, proxy func(*http.Request) (*url.URL, error), tr *trace.Tracer) *http.Client {
	var tlsTransport http.RoundTripper = newTLSTransport(system, proxy)
	if caPEM != nil {
		extra := x509.NewCertPool()
		extra.AppendCertsFromPEM(caPEM)
		tlsTransport = &extraRootsTransport{
			extra:  newTLSTransport(extra, proxy),
			system: tlsTransport,
			both: sync.OnceValue(func() http.RoundTripper {
				pool := system
				if pool == nil {
					var err error
					if pool, err = x509.SystemCertPool(); err != nil {
						pool = x509.NewCertPool()
					}
				} else {
					pool = pool.Clone()
				}
				pool.AppendCertsFromPEM(caPEM)
				return newTLSTransport(pool, proxy)
			}),
			proxy: proxy,
			trace: tr,
		}
	}
	return &http.Client{
		Transport: &retryTransport{next: tlsTransport, trace: tr},
		Timeout:   2 * RequestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// suppressSignInRedirect asks Azure DevOps to answer a token it does not accept with 401 rather
// than a redirect to its sign-in page, as Microsoft's own clients do.
func suppressSignInRedirect(req *http.Request) { req.Header.Set("X-TFS-FedAuthRedirect", "Suppress") }

// newTLSTransport returns a transport that verifies servers against roots, or the system's roots
// if roots is nil.
func newTLSTransport(roots *x509.CertPool, proxy func(*http.Request) (*url.URL, error)) *http.Transport {
	return &http.Transport{
		Proxy:                 proxy,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: RequestTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   4,
	}
}

// extraRootsTransport trusts the certificates of --ca-file as well as the system's roots. One
// pool of both would do, but it makes crypto/x509 parse every system root first (on Debian the
// bundle and /etc/ssl/certs, each of them, so some 400 certificates), which costs more CPU than
// the rest of a cold get. So a host is verified against the CA file first and against the
// system's roots only if that fails. That trusts exactly what the one pool would: a chain ends at
// the first root it reaches, so a chain the one pool accepts ends at a root of one of the two
// sets, and that set alone accepts it.
type extraRootsTransport struct {
	extra, system http.RoundTripper
	// both trusts one pool of both, for requests through an https proxy: each of their
	// connections is verified twice, the proxy's certificate and then the host's, under the same
	// roots, and the two may need a different set each.
	both  func() http.RoundTripper
	proxy func(*http.Request) (*url.URL, error)
	trace *trace.Tracer
	// systemHosts are the hosts (host:port) the CA file does not vouch for: they go straight to
	// system, without a handshake that fails first.
	systemHosts sync.Map
}

func (t *extraRootsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if p, err := t.proxy(req); err == nil && p != nil && p.Scheme == "https" {
		return t.both().RoundTrip(req)
	}
	host := net.JoinHostPort(req.URL.Hostname(), cmp.Or(req.URL.Port(), "443"))
	if _, ok := t.systemHosts.Load(host); ok {
		return t.system.RoundTrip(req)
	}
	resp, err := t.extra.RoundTrip(req)
	var unverified *tls.CertificateVerificationError
	if !errors.As(err, &unverified) {
		return resp, err
	}
	// The handshake failed before anything was sent, so even a PAT create can go again.
	retry, rerr := resend(req)
	if errors.Is(rerr, errNoReplay) {
		return nil, fmt.Errorf("%w, and the request cannot be sent again to check it against the system's roots", err)
	}
	if rerr != nil {
		return nil, rerr
	}
	t.systemHosts.Store(host, true)
	t.trace.Printf("--ca-file does not vouch for %s (%v): verifying it against the system's roots", host, unverified.Err)
	resp, err = t.system.RoundTrip(retry)
	if errors.As(err, new(*tls.CertificateVerificationError)) {
		return nil, fmt.Errorf("%w (nor does --ca-file: %v)", err, unverified.Err)
	}
	return resp, err
}

// retryTransport retries idempotent requests and Entra's token endpoints on 429, 5xx and transport
// errors, with exponential backoff and full jitter, honouring Retry-After, always inside the
// request's context deadline. PAT creation (POST) is retried here only on a 429: otherwise Manager
// decides, because a lost answer may mean a PAT was made.
type retryTransport struct {
	next  http.RoundTripper
	trace *trace.Tracer
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
		if resp != nil {
			resp.Body.Close()
		}
		next, rerr := resend(req)
		if errors.Is(rerr, errNoReplay) {
			return nil, fmt.Errorf("%s %s failed and cannot be replayed: %w", req.Method, req.URL.Path, errOrStatus(resp, err))
		}
		if rerr != nil {
			return nil, rerr
		}
		req = next
		t.trace.Printf("retrying %s %s in %s (attempt %d of %d)", req.Method, req.URL.Path, wait.Round(time.Millisecond), attempt+1, maxAttempts)
		select {
		case <-time.After(wait):
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
}

// errNoReplay is resend's answer for a body that cannot be had again.
var errNoReplay = errors.New("the request body cannot be sent again")

// resend returns a copy of req to send again. A round trip closes the body it sent, so the copy
// has a fresh one from GetBody.
func resend(req *http.Request) (*http.Request, error) {
	again := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return again, nil
	}
	if req.GetBody == nil {
		return nil, errNoReplay
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	again.Body = body
	return again, nil
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

func errOrStatus(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("HTTP %d", resp.StatusCode)
}
