package azdo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
)

// zeroGUID as an organisation's resource tenant means it is backed by Microsoft accounts, which
// sign in through the multi-tenant endpoint.
const zeroGUID = "00000000-0000-0000-0000-000000000000"

// TenantFromChallenge extracts the tenant from a Bearer challenge such as
// `Bearer authorization_uri=https://login.microsoftonline.com/{tenant}` when, and only when, the
// URI points at a Microsoft login host or at the configured authority. ok is false otherwise.
func TenantFromChallenge(challenge, authority string) (tenant string, ok bool) {
	params := bearerParams(challenge)
	// A challenge with an error (a claims challenge) says what a token lacks, not whose the
	// resource is: Entra documents it through the common endpoint.
	u, err := url.Parse(params["authorization_uri"])
	if err != nil || params["error"] != "" || u.Scheme != "https" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	configured, err := url.Parse(authority)
	if err != nil {
		return "", false
	}
	// A hostile server can put anything in its WWW-Authenticate header: only Microsoft's sign-in
	// hosts and the configured authority are followed.
	if !config.MicrosoftLoginHost(host) && host != strings.ToLower(configured.Host) {
		return "", false
	}
	// The path as sent, not percent-decoded: Entra never escapes a tenant, and decoding would let
	// "%2e%2e" or "%2f" become path syntax once the tenant is put back into an authority URL.
	tenant = strings.Trim(u.EscapedPath(), "/")
	if !config.ValidTenant(tenant) {
		return "", false
	}
	if tenant == zeroGUID {
		return config.TenantOrganizations, true
	}
	return strings.ToLower(tenant), true
}

// bearerParams parses a Bearer challenge's parameters (names lower-cased, values unquoted); it is
// nil for any other scheme.
func bearerParams(challenge string) map[string]string {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(challenge), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return nil
	}
	params := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		var k string
		k, rest, _ = strings.Cut(rest, "=")
		k = strings.ToLower(strings.Trim(strings.TrimSpace(k), ","))
		rest = strings.TrimSpace(rest)
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				v, rest = rest[1:], ""
			} else {
				v, rest = rest[1:end+1], rest[end+2:]
			}
			_, rest, _ = strings.Cut(rest, ",")
		} else {
			v, rest, _ = strings.Cut(rest, ",")
		}
		if _, seen := params[k]; k != "" && !seen {
			params[k] = strings.TrimSpace(v)
		}
		rest = strings.TrimSpace(rest)
	}
	return params
}

// Tenant asks org which Entra ID tenant owns it (discoverTenant).
func (c *Client) Tenant(ctx context.Context, org string) (string, error) {
	return discoverTenant(ctx, c.Send, c.cfg.OrgURL(org), c.cfg.Authority)
}

// discoverTenant asks the organisation itself: Azure DevOps answers an anonymous request with 401
// and names the tenant that owns the organisation, preferably in its Bearer challenge, else in
// X-VSS-ResourceTenant (which may list several, comma-separated). An organisation that offers
// only Basic is backed by Microsoft accounts.
func discoverTenant(ctx context.Context, do func(*http.Request) (*http.Response, error), orgURL, authority string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, orgURL, nil)
	if err != nil {
		return "", err
	}
	suppressSignInRedirect(req)
	resp, err := do(req)
	if err != nil {
		return "", fmt.Errorf("finding the tenant of %s: %w", orgURL, err)
	}
	resp.Body.Close()
	challenges := resp.Header.Values("WWW-Authenticate")
	for _, c := range challenges {
		if t, ok := TenantFromChallenge(c, authority); ok {
			return t, nil
		}
	}
	if t, ok := resourceTenant(resp.Header.Values("X-VSS-ResourceTenant")); ok {
		return t, nil
	}
	if onlyBasic(challenges) {
		return config.TenantOrganizations, nil
	}
	return "", fmt.Errorf("%s did not name its tenant (HTTP %d): is the organisation name right?", orgURL, resp.StatusCode)
}

// resourceTenant picks the first tenant GUID that is not all zeros among X-VSS-ResourceTenant
// values; all zeros means a Microsoft-account organisation.
func resourceTenant(values []string) (string, bool) {
	zero := false
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			switch {
			case t == zeroGUID:
				zero = true
			case config.IsGUID(t):
				return strings.ToLower(t), true
			}
		}
	}
	if zero {
		return config.TenantOrganizations, true
	}
	return "", false
}

// onlyBasic reports whether challenges offer Basic and nothing else.
func onlyBasic(challenges []string) bool {
	for _, c := range challenges {
		scheme, _, _ := strings.Cut(strings.TrimSpace(c), " ")
		if !strings.EqualFold(scheme, "Basic") {
			return false
		}
	}
	return len(challenges) > 0
}

// ClaimsFromChallenges returns the decoded claims of a continuous access evaluation challenge
// (`Bearer … error="insufficient_claims", claims="<base64>"`) among WWW-Authenticate values, or "".
func ClaimsFromChallenges(challenges []string) string {
	for _, c := range challenges {
		params := bearerParams(c)
		if !strings.EqualFold(params["error"], "insufficient_claims") {
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

// Claims returns the claims a refused token must carry next time, or "".
func Claims(err error) string {
	var cerr *claimsError
	if errors.As(err, &cerr) {
		return cerr.claims
	}
	return ""
}
