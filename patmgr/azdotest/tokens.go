package azdotest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// oidcScopes are the scopes that ask for sign-in artefacts rather than a
// resource; MSAL adds openid, offline_access and profile to every request.
var oidcScopes = map[string]bool{"openid": true, "offline_access": true, "profile": true, "email": true}

// resourceAliases maps the resource part of a scope to the audience of the
// access token, as Entra does for these well-known applications.
var resourceAliases = map[string]string{
	ResourceID:                           ResourceID,
	"https://app.vssps.visualstudio.com": ResourceID,
	GraphResourceID:                      GraphResourceID,
	"https://graph.microsoft.com":        GraphResourceID,
}

// oauthError is an Entra-style error reply.
type oauthError struct {
	status int
	code   string // error
	aadsts int
	msg    string
}

func (e *oauthError) Error() string { return fmt.Sprintf("%s: AADSTS%d: %s", e.code, e.aadsts, e.msg) }

func newOAuthError(status int, code string, aadsts int, format string, args ...any) *oauthError {
	return &oauthError{status: status, code: code, aadsts: aadsts, msg: fmt.Sprintf(format, args...)}
}

func (s *Server) writeOAuthError(w http.ResponseWriter, e *oauthError) {
	now := s.clock.now()
	writeJSON(w, e.status, map[string]any{
		"error":             e.code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", e.aadsts, e.msg, newGUID(), newGUID(), now.Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{e.aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          newGUID(),
		"correlation_id":    newGUID(),
	})
}

// audienceOf works out which resource a scope string asks for. Scopes
// without a resource (only openid, profile, ...) get a Graph token, as on
// Entra. Asking for two resources at once is an error there too.
func audienceOf(scope string) (string, *oauthError) {
	aud := ""
	for _, sc := range strings.Fields(scope) {
		if oidcScopes[strings.ToLower(sc)] {
			continue
		}
		i := strings.LastIndex(sc, "/")
		if i <= 0 {
			// A bare scope name such as "User.Read" belongs to Graph.
			sc = GraphResourceID + "/" + sc
			i = len(GraphResourceID)
		}
		res, ok := resourceAliases[strings.ToLower(sc[:i])]
		if !ok {
			return "", newOAuthError(http.StatusBadRequest, "invalid_resource", 500011,
				"The resource principal named %s was not found in the tenant.", sc[:i])
		}
		if aud != "" && aud != res {
			return "", newOAuthError(http.StatusBadRequest, "invalid_scope", 28000,
				"Provided value for the input parameter scope is not valid because it contains more than one resource.")
		}
		aud = res
	}
	if aud == "" {
		aud = GraphResourceID
	}
	return aud, nil
}

func hasScope(scope, want string) bool {
	for _, sc := range strings.Fields(scope) {
		if strings.EqualFold(sc, want) {
			return true
		}
	}
	return false
}

// jwt builds a compact HS256 JWT. Its signature is real but nobody needs to
// verify it: resource endpoints look tokens up in the server's own table.
func (s *Server) jwt(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(map[string]string{"alg": "HS256", "typ": "JWT"}) + "." + enc(claims)
	mac := hmac.New(sha256.New, s.signKey)
	mac.Write([]byte(signed))
	return signed + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// issueUserTokensLocked answers a successful user sign-in (any delegated
// grant): an access token for the requested resource, and, as Entra does,
// an id_token and client_info only with openid and a refresh token only with
// offline_access.
func (s *Server) issueUserTokensLocked(u *user, clientID, scope, grant string) (map[string]any, *oauthError) {
	aud, oerr := audienceOf(scope)
	if oerr != nil {
		return nil, oerr
	}
	now := s.clock.now()
	exp := now.Add(s.atLife)
	at := s.jwt(map[string]any{
		"aud": aud, "iss": s.URL + "/" + u.tenantID + "/", "iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix(),
		"oid": u.oid, "sub": u.oid, "tid": u.tenantID, "appid": clientID, "scp": "user_impersonation",
		"upn": u.upn, "name": u.name, "uti": randomToken(16), "ver": "1.0",
	})
	s.st.access[at] = &accessToken{upn: u.upn, clientID: clientID, aud: aud, tenantID: u.tenantID, expires: exp}
	resp := map[string]any{
		"token_type":     "Bearer",
		"scope":          scope,
		"expires_in":     int(s.atLife / time.Second),
		"ext_expires_in": int(s.atLife / time.Second),
		"access_token":   at,
	}
	if hasScope(scope, "offline_access") {
		rt := "rt." + randomToken(48)
		s.st.refresh[rt] = &refreshToken{upn: u.upn, clientID: clientID, tenantID: u.tenantID, scope: scope, expires: now.Add(refreshTokenLifetime)}
		resp["refresh_token"] = rt
	}
	if hasScope(scope, "openid") {
		resp["id_token"] = s.jwt(map[string]any{
			"aud": clientID, "iss": s.URL + "/" + u.tenantID + "/v2.0", "iat": now.Unix(), "nbf": now.Unix(),
			"exp": now.Add(time.Hour).Unix(), "oid": u.oid, "sub": u.oid, "tid": u.tenantID,
			"preferred_username": u.upn, "name": u.name, "ver": "2.0",
		})
		ci, _ := json.Marshal(map[string]string{"uid": u.oid, "utid": u.tenantID})
		resp["client_info"] = base64.RawURLEncoding.EncodeToString(ci)
	}
	s.counters.Grants[grant]++
	return resp, nil
}

// refreshTokenLifetime is Entra's inactivity limit; each use of a refresh
// token returns a new one with a fresh 90 days.
const refreshTokenLifetime = 90 * 24 * time.Hour

// issueAppTokenLocked answers client_credentials: an app-only token (no
// user, no scp, no refresh or id token).
func (s *Server) issueAppTokenLocked(c *client, tenantID, aud string) map[string]any {
	now := s.clock.now()
	exp := now.Add(s.atLife)
	at := s.jwt(map[string]any{
		"aud": aud, "iss": s.URL + "/" + tenantID + "/", "iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix(),
		"oid": c.oid, "sub": c.oid, "tid": tenantID, "appid": c.id, "idtyp": "app", "roles": []string{},
		"uti": randomToken(16), "ver": "1.0",
	})
	s.st.access[at] = &accessToken{clientID: c.id, aud: aud, tenantID: tenantID, expires: exp}
	s.counters.Grants["client_credentials"]++
	return map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(s.atLife / time.Second),
		"ext_expires_in": int(s.atLife / time.Second),
		"access_token":   at,
	}
}

// principal is who a request to Azure DevOps authenticated as.
type principal struct {
	user *user
	pat  *pat         // set when a PAT was the Basic password
	at   *accessToken // set when an Entra access token was used
}

// devopsTokenLocked finds a live, delegated Azure DevOps access token.
func (s *Server) devopsTokenLocked(tok string) (*accessToken, *user) {
	at := s.st.access[tok]
	if at == nil || at.upn == "" || at.aud != ResourceID || !s.clock.now().Before(at.expires) {
		return nil, nil
	}
	u := s.st.users[strings.ToLower(at.upn)]
	return at, u
}

// authenticateLocked checks the Authorization header the way Azure DevOps
// does: a Bearer Entra token, or Basic with any user name and a PAT or an
// Entra token as password. It returns nil when the request is anonymous or
// the credential is not valid for any Azure DevOps use; PATs are returned
// whatever their state so callers can tell why they fail.
func (s *Server) authenticateLocked(r *http.Request, allowPAT bool) *principal {
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "bearer":
		if at, u := s.devopsTokenLocked(cred); u != nil {
			return &principal{user: u, at: at}
		}
	case "basic":
		name, pw, ok := r.BasicAuth()
		if !ok || name == "" && pw == "" {
			return nil
		}
		if at, u := s.devopsTokenLocked(pw); u != nil {
			return &principal{user: u, at: at}
		}
		if !allowPAT {
			return nil
		}
		if p := s.st.patByKey[pw]; p != nil && name != "" {
			if u := s.st.users[strings.ToLower(p.upn)]; u != nil {
				return &principal{user: u, pat: p}
			}
		}
	}
	return nil
}
