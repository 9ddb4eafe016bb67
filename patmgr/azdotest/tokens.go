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
func (s *Server) issueUserTokensLocked(u *user, clientID, scope, grant string, cae bool) (map[string]any, *oauthError) {
	aud, oerr := audienceOf(scope)
	if oerr != nil {
		return nil, oerr
	}
	if oerr := s.signInFailureLocked(u, clientID, grant); oerr != nil {
		return nil, oerr
	}
	now := s.clock.now()
	exp := now.Add(s.atLife)
	claims := map[string]any{
		"aud": aud, "iss": s.URL + "/" + u.tenantID + "/", "iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix(),
		"oid": u.oid, "sub": u.oid, "tid": u.tenantID, "appid": clientID, "scp": "user_impersonation",
		"upn": u.upn, "name": u.name, "uti": randomToken(16), "ver": "1.0",
	}
	if cae {
		claims["xms_cc"] = []string{"cp1"} // the capabilities the client declared
	}
	at := s.jwt(claims)
	s.st.access[at] = &accessToken{upn: u.upn, clientID: clientID, aud: aud, tenantID: u.tenantID, expires: exp, cae: cae}
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

// Continuous access evaluation. A token request whose claims parameter
// declares the client capability cp1 (as MSAL does for
// WithClientCapabilities) gets a CAE token. A critical event
// (ChallengeSessions, RevokeSessions) voids the user's CAE tokens at once:
// Azure DevOps then answers them with a claims challenge naming the event's
// time, and a token asked for with those claims is issued as usual (the
// refresh token still works after ChallengeSessions, not after
// RevokeSessions). Tokens of clients that did not declare cp1 stay valid until
// they expire.

// caeCapable reports whether a token request's claims parameter declares cp1.
func caeCapable(claims string) bool {
	var c struct {
		AccessToken struct {
			XmsCC struct {
				Values []string `json:"values"`
			} `json:"xms_cc"`
		} `json:"access_token"`
	}
	if json.Unmarshal([]byte(claims), &c) != nil {
		return false
	}
	for _, v := range c.AccessToken.XmsCC.Values {
		if strings.EqualFold(v, "cp1") {
			return true
		}
	}
	return false
}

// ChallengeSessions is a critical event for upn that leaves the refresh
// tokens alone (a Conditional Access or location change): the user's CAE
// access tokens get a claims challenge from then on.
func (s *Server) ChallengeSessions(upn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.users[strings.ToLower(upn)] == nil {
		return fmt.Errorf("user %s: %w", upn, errNotFound)
	}
	s.voidCAETokensLocked(upn)
	return nil
}

func (s *Server) voidCAETokensLocked(upn string) {
	now := s.clock.now()
	for _, at := range s.st.access {
		if at.cae && at.voidedAt.IsZero() && strings.EqualFold(at.upn, upn) {
			at.voidedAt = now
		}
	}
}

// devopsEndpoints are the Azure DevOps endpoints that evaluate access
// continuously.
func devopsEndpoint(name string) bool {
	switch name {
	case "org", "git", "profile", "accounts":
		return true
	}
	return strings.HasPrefix(name, "pats.")
}

// serveClaimsChallenge answers a request to Azure DevOps that carries a voided
// CAE token (as Bearer, or as the Basic password) with 401 and the claims
// challenge, and reports whether it did.
func (s *Server) serveClaimsChallenge(endpoint string, w http.ResponseWriter, r *http.Request) bool {
	if !devopsEndpoint(endpoint) {
		return false
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "basic") {
		_, tok, _ = r.BasicAuth()
	}
	s.mu.Lock()
	at := s.st.access[strings.TrimSpace(tok)]
	var voided time.Time
	if at != nil {
		voided = at.voidedAt
	}
	s.mu.Unlock()
	if voided.IsZero() {
		return false
	}
	claims := fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%d"}}}`, voided.Unix())
	// The shape Entra documents for a claims challenge through the common endpoint: it names no
	// tenant, so a client must not take one from it.
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="", authorization_uri="%s/common/oauth2/authorize", error="insufficient_claims", claims="%s"`,
		s.URL, base64.StdEncoding.EncodeToString([]byte(claims))))
	writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "TF400813: The access token was revoked by a continuous access evaluation event.", "typeKey": "UnauthorizedRequestException"})
	return true
}

// signInFailures are the Entra errors FailSignIns can make the token endpoint
// answer, as a real tenant words them. The message's verbs are the resource,
// the client and the tenant.
var signInFailures = map[int]struct {
	code, msg string
}{
	9002332: {"invalid_request", "Application '%[1]s'(Azure DevOps) is configured for use by Azure Active Directory users only. Please do not use the /consumers endpoint to serve this request."},
	53003:   {"invalid_grant", "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."},
	65001:   {"invalid_grant", "The user or administrator has not consented to use the application with ID '%[2]s'. Send an interactive authorization request for this user and resource."},
	50076:   {"invalid_grant", "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%[1]s'."},
	50079:   {"invalid_grant", "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '%[1]s'."},
	700016:  {"unauthorized_client", "Application with identifier '%[2]s' was not found in the directory '%[3]s'. This can happen if the application has not been installed by the administrator of the tenant."},
	90002:   {"invalid_tenant", "Tenant '%[3]s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."},
}

// FailSignIns makes every delegated sign-in of who (a user's UPN, or a
// tenant's GUID or domain, which covers its users) fail with the Entra error
// AADSTSaadsts: 9002332, 53003 (device code sign-ins only, like Microsoft's
// managed Conditional Access policy), 65001, 50076, 50079, 700016 or 90002 (a
// tenant that fails so is unknown to its discovery document too). 0 lifts it.
func (s *Server) FailSignIns(who string, aadsts int) error {
	if _, ok := signInFailures[aadsts]; !ok && aadsts != 0 {
		return fmt.Errorf("AADSTS%d is not an error the emulator can answer sign-ins with", aadsts)
	}
	who = strings.ToLower(who)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.users[who] == nil && s.tenantLocked(who) == nil {
		return fmt.Errorf("user or tenant %s: %w", who, errNotFound)
	}
	if aadsts == 0 {
		delete(s.st.failures, who)
	} else {
		s.st.failures[who] = aadsts
	}
	return nil
}

// signInFailureLocked returns the error FailSignIns set for u (or u's tenant)
// on grant, if any.
func (s *Server) signInFailureLocked(u *user, clientID, grant string) *oauthError {
	keys := []string{strings.ToLower(u.upn)}
	if t := s.tenantLocked(u.tenantID); t != nil {
		keys = append(keys, t.id, t.domain)
	}
	for _, who := range keys {
		code := s.st.failures[who]
		if code == 0 || code == 53003 && grant != "device_code" {
			continue
		}
		f := signInFailures[code]
		return newOAuthError(http.StatusBadRequest, f.code, code, f.msg, ResourceID, clientID, u.tenantID)
	}
	return nil
}

// tenantFailsLocked reports whether FailSignIns made the tenant named by seg unknown.
func (s *Server) tenantFailsLocked(seg string) bool {
	t := s.tenantLocked(seg)
	return t != nil && (s.st.failures[t.id] == 90002 || s.st.failures[t.domain] == 90002)
}
