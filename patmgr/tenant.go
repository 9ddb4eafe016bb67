package patmgr

import (
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"

	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
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

// zeroGUID as an organisation's resource tenant means it is backed by Microsoft accounts, which
// sign in through the multi-tenant endpoint.
const zeroGUID = "00000000-0000-0000-0000-000000000000"

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
	if !config.ValidTenant(tenant) {
		return "", false
	}
	return normalizeTenant(tenant), true
}

func normalizeTenant(t string) string {
	if t == zeroGUID {
		return config.TenantOrganizations
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
	suppressSignInRedirect(req)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("finding the tenant of %s: %w", orgURL, err)
	}
	resp.Body.Close()
	if t := resp.Header.Get("X-VSS-ResourceTenant"); config.IsGUID(t) {
		return normalizeTenant(t), nil
	}
	for _, c := range resp.Header.Values("WWW-Authenticate") {
		if t, ok := TenantFromChallenge(c, authority); ok {
			return t, nil
		}
	}
	return "", fmt.Errorf("%s did not name its tenant (HTTP %d): is the organisation name right?", orgURL, resp.StatusCode)
}
