package azdo

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
)

// ExplainNetwork says which host could not be reached and why, when err is a failed HTTP
// exchange, naming the proxy in the way if there is one.
func (c *Client) ExplainNetwork(err error) (string, bool) {
	var uerr *url.Error
	if !errors.As(err, &uerr) {
		return "", false
	}
	u, perr := url.Parse(uerr.URL)
	if perr != nil {
		return "", false
	}
	host := u.Host
	via, _ := c.proxy(&http.Request{URL: u})
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.As(err, &opErr) && opErr.Op == "proxyconnect":
		return fmt.Sprintf("cannot reach the proxy %s (HTTPS_PROXY) on the way to %s: %s", redactedOr(via, opErr.Addr), host, netCause(opErr.Err)), true
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return fmt.Sprintf("cannot reach %s: the name %s does not resolve (no such host)", host, dnsErr.Name), true
		}
		return fmt.Sprintf("cannot reach %s: looking up %s failed (%s): are you offline?", host, dnsErr.Name, dnsErr.Err), true
	case errors.As(err, &certErr):
		return fmt.Sprintf("cannot reach %s securely: its certificate is not trusted (%v): behind a TLS-inspecting proxy, add its CA with --ca-file", host, certErr.Err), true
	case errors.Is(err, context.DeadlineExceeded) || uerr.Timeout():
		return fmt.Sprintf("%s did not answer in time%s", host, c.Via(uerr.URL)), true
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Sprintf("cannot reach %s: the connection closed before an answer came%s", host, c.Via(uerr.URL)), true
	case opErr != nil:
		return fmt.Sprintf("cannot reach %s: %s", host, netCause(opErr.Err)), true
	case via != nil:
		// The transport reports a refused CONNECT with the proxy's status text alone.
		return fmt.Sprintf("the proxy %s (HTTPS_PROXY) would not connect to %s: %v", via.Redacted(), host, uerr.Err), true
	}
	return fmt.Sprintf("cannot reach %s: %v", host, uerr.Err), true
}

// networkError is a failed exchange worded by ExplainNetwork: the host and the cause, never the
// request's URL, whose query string would crowd the rest of the line out.
type networkError struct {
	why string
	err error
}

func (e *networkError) Error() string { return e.why }
func (e *networkError) Unwrap() error { return e.err }

// Send sends req, wording a failed exchange as ExplainNetwork does.
func (c *Client) Send(req *http.Request) (*http.Response, error) {
	resp, err := c.Do(req)
	if why, ok := c.ExplainNetwork(err); ok {
		err = &networkError{why: why, err: err}
	}
	return resp, err
}

// isAny reports whether err is one of targets.
func isAny(err error, targets []error) bool {
	return slices.ContainsFunc(targets, func(t error) bool { return errors.Is(err, t) })
}

// netCause words a dial failure for a person.
func netCause(err error) string {
	switch {
	case isAny(err, connRefused):
		return "the connection was refused (nothing listens there, or a firewall refuses it)"
	case isAny(err, unreachable):
		return "the network is unreachable: are you offline?"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return "the name " + dnsErr.Name + " does not resolve (no such host)"
	}
	return err.Error()
}

func redactedOr(u *url.URL, addr net.Addr) string {
	if u != nil {
		return u.Redacted()
	}
	if addr != nil {
		return addr.String()
	}
	return "in use"
}

// Via names the proxy the client goes through to reach raw (HTTPS_PROXY, unless NO_PROXY exempts
// the host), or is "" when it goes directly.
func (c *Client) Via(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	p, err := c.proxy(&http.Request{URL: u})
	switch {
	case err != nil:
		return " (HTTPS_PROXY is unusable: " + err.Error() + ")"
	case p != nil:
		return " through the proxy " + p.Redacted()
	}
	return ""
}
