package patmgr

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// aadstsPattern finds Entra's error code anywhere in MSAL's error, which quotes the reply body
// on a later line.
var aadstsPattern = regexp.MustCompile(`AADSTS(\d+)`)

// explainEntra turns an Entra refusal a real tenant sends into one line naming the fix.
func explainEntra(err error, clientID, tenant string) (string, bool) {
	m := aadstsPattern.FindStringSubmatch(err.Error())
	if m == nil {
		return "", false
	}
	var why string
	switch m[1] {
	case "9002332":
		why = "this is a personal Microsoft account, and the client " + clientID + " takes work or school accounts only: sign in with a work or school account, or use an app of your own that allows personal accounts (--client-id)"
	case "53003":
		why = "a Conditional Access policy of your tenant blocked this sign-in (device code sign-in is often blocked): use a browser sign-in (--login=browser), or a client your tenant allows (--client-id)"
	case "65001":
		why = "the client " + clientID + " needs consent in your tenant: ask an admin to grant it, or use an app of your own (--client-id)"
	case "50076":
		why = "your tenant requires multi-factor authentication, which the password flow cannot pass: use --login=browser or --login=device"
	case "50079":
		why = "your tenant requires you to set up multi-factor authentication, which the password flow cannot do: use --login=browser or --login=device"
	case "700016":
		why = "the tenant does not know the client ID " + clientID + ": check --client-id, or ask an admin to add the app to the tenant"
	case "90002":
		why = "there is no tenant " + tenant + ": check --tenant and --authority"
	default:
		return "", false
	}
	return "AADSTS" + m[1] + ": " + why, true
}

// explainNetwork says which host could not be reached and why, when err is a failed HTTP
// exchange. proxy is the client's proxy choice, to name a proxy in the way.
func explainNetwork(err error, proxy func(*http.Request) (*url.URL, error)) (string, bool) {
	var uerr *url.Error
	if !errors.As(err, &uerr) {
		return "", false
	}
	u, perr := url.Parse(uerr.URL)
	if perr != nil {
		return "", false
	}
	host := u.Host
	var via *url.URL
	if proxy != nil {
		via, _ = proxy(&http.Request{URL: u})
	}
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
		return fmt.Sprintf("%s did not answer in time%s", host, through(via)), true
	case opErr != nil:
		return fmt.Sprintf("cannot reach %s: %s", host, netCause(opErr.Err)), true
	case via != nil:
		// The transport reports a refused CONNECT with the proxy's status text alone.
		return fmt.Sprintf("the proxy %s (HTTPS_PROXY) would not connect to %s: %v", via.Redacted(), host, uerr.Err), true
	}
	return fmt.Sprintf("cannot reach %s: %v", host, uerr.Err), true
}

// isAny reports whether err is one of targets.
func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
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

func through(via *url.URL) string {
	if via == nil {
		return ""
	}
	return " through the proxy " + via.Redacted()
}

// claimsFromChallenges returns the decoded claims of a continuous access evaluation challenge
// (`Bearer … error="insufficient_claims", claims="<base64>"`) among WWW-Authenticate values, or "".
func claimsFromChallenges(challenges []string) string {
	for _, c := range challenges {
		params, ok := bearerParams(c)
		if !ok || !strings.EqualFold(params["error"], "insufficient_claims") {
			continue
		}
		raw := params["claims"]
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(raw); err == nil && len(b) > 0 {
				return string(b)
			}
		}
	}
	return ""
}

// claimsError is a refusal that says which claims a new token must carry. It is still a refused
// sign-in: errors.Is(err, errNotAuthenticated) holds.
type claimsError struct{ claims string }

func (e *claimsError) Error() string {
	return errNotAuthenticated.Error() + " (HTTP 401: continuous access evaluation asks for a new token)"
}
func (e *claimsError) Unwrap() error { return errNotAuthenticated }

// challengeClaims returns the claims a refused sign-in asks for, or "".
func challengeClaims(err error) string {
	var cerr *claimsError
	if errors.As(err, &cerr) {
		return cerr.claims
	}
	return ""
}
