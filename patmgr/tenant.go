package patmgr

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// Microsoft's Entra ID sign-in hosts, public and sovereign clouds. An authorization_uri naming any
// other host is never followed: a hostile server can put anything in its WWW-Authenticate header.
var microsoftLoginHosts = map[string]bool{
	"login.microsoftonline.com": true,
	"login.microsoft.com":       true,
	"login.windows.net":         true,
	"login.microsoftonline.us":  true,
	"login.chinacloudapi.cn":    true,
}

// tenantOrganizations is the multi-tenant authority segment; an all-zero resource tenant means the
// organisation is backed by Microsoft accounts, which sign in there too.
const (
	tenantOrganizations = "organizations"
	zeroGUID            = "00000000-0000-0000-0000-000000000000"
)

// isGUID reports whether s is a GUID in its 8-4-4-4-12 hexadecimal form. It runs on every
// invocation (Config.Validate), so it is written out rather than a regexp compiled at start-up.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// domainPattern is compiled on first use: most runs never need it.
var domainPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$`)
})

// validTenant accepts what may stand in an authority's path: a GUID, a verified domain, or one of
// the multi-tenant names. Anything else could smuggle a path or query into the authority URL.
func validTenant(s string) bool {
	switch s {
	case tenantOrganizations, "common", "consumers":
		return true
	}
	return isGUID(s) || domainPattern().MatchString(s)
}

// TenantFromChallenge extracts the tenant from a Bearer challenge such as
// `Bearer authorization_uri=https://login.microsoftonline.com/{tenant}` when, and only when, the
// URI points at a Microsoft login host or at the configured authority. ok is false otherwise.
func TenantFromChallenge(challenge, authority string) (tenant string, ok bool) {
	scheme, params, found := strings.Cut(strings.TrimSpace(challenge), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	for _, p := range strings.Split(params, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "authorization_uri") {
			continue
		}
		return tenantFromAuthorizationURI(strings.Trim(strings.TrimSpace(v), `"`), authority)
	}
	return "", false
}

func tenantFromAuthorizationURI(raw, authority string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	configured, err := url.Parse(authority)
	if err != nil {
		return "", false
	}
	if !microsoftLoginHosts[host] && host != strings.ToLower(configured.Host) {
		return "", false
	}
	// The path as sent, not percent-decoded: Entra never escapes a tenant, and decoding would let
	// "%2e%2e" or "%2f" become path syntax once the tenant is put back into an authority URL.
	tenant := strings.Trim(u.EscapedPath(), "/")
	if !validTenant(tenant) {
		return "", false
	}
	return normalizeTenant(tenant), true
}

func normalizeTenant(t string) string {
	if t == zeroGUID {
		return tenantOrganizations
	}
	return strings.ToLower(t)
}

// discoverTenant asks the organisation itself: Azure DevOps answers an anonymous request with 401
// and names the tenant that owns the organisation.
func discoverTenant(ctx context.Context, client *http.Client, orgURL, authority string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, orgURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("finding the tenant of %s: %w", orgURL, err)
	}
	resp.Body.Close()
	if t := resp.Header.Get("X-VSS-ResourceTenant"); isGUID(t) {
		return normalizeTenant(t), nil
	}
	for _, c := range resp.Header.Values("WWW-Authenticate") {
		if t, ok := TenantFromChallenge(c, authority); ok {
			return t, nil
		}
	}
	return "", fmt.Errorf("%s did not name its tenant (HTTP %d): is the organisation name right?", orgURL, resp.StatusCode)
}
