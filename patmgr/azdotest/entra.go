package azdotest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The Entra ID v2 endpoints, as MSAL Go's public (and confidential) client
// uses them with instance discovery switched off.

const (
	codeLifetime       = 10 * time.Minute
	deviceCodeLifetime = 15 * time.Minute
)

// tenantSeg returns the first path segment when it names a tenant this
// server knows (GUID or domain) or is one of the multi-tenant aliases.
func (s *Server) tenantSeg(r *http.Request) (string, *oauthError) {
	seg := strings.ToLower(strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0])
	if seg == "organizations" || seg == "common" {
		return seg, nil
	}
	s.mu.Lock()
	t := s.tenantLocked(seg)
	if t != nil && s.tenantFailsLocked(seg) {
		t = nil
	}
	s.mu.Unlock()
	if t == nil {
		return "", newOAuthError(http.StatusBadRequest, "invalid_tenant", 90002,
			"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", seg)
	}
	return seg, nil
}

func (s *Server) serveOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	seg, oerr := s.tenantSeg(r)
	if oerr != nil {
		s.writeOAuthError(w, oerr)
		return
	}
	// A specific tenant's issuer names its GUID; the multi-tenant aliases
	// publish the "{tenant}" template MSAL fills in, like Entra.
	issTenant := "{tenant}"
	if seg != "organizations" && seg != "common" {
		s.mu.Lock()
		issTenant = s.tenantLocked(seg).id
		s.mu.Unlock()
	}
	base := s.URL + "/" + seg + "/oauth2/v2.0/"
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.URL + "/" + issTenant + "/v2.0",
		"authorization_endpoint":                base + "authorize",
		"token_endpoint":                        base + "token",
		"device_authorization_endpoint":         base + "devicecode",
		"end_session_endpoint":                  base + "logout",
		"jwks_uri":                              s.URL + "/" + seg + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"response_types_supported":              []string{"code"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"HS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"code_challenge_methods_supported":      []string{"S256"},
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
	})
}

// serveInstanceDiscovery exists only to be counted: with instance discovery
// off MSAL must never call it, and a test can assert that.
func (s *Server) serveInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	s.writeOAuthError(w, newOAuthError(http.StatusBadRequest, "invalid_instance", 50049,
		"Unknown or invalid instance: the emulator does not serve instance discovery."))
}

// serveUserRealm answers MSAL's realm lookup before the password grant:
// every known domain is a managed (non-federated) one.
func (s *Server) serveUserRealm(w http.ResponseWriter, r *http.Request) {
	upn := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[2]
	if u, err := url.PathUnescape(upn); err == nil {
		upn = u
	}
	_, domain, _ := strings.Cut(strings.ToLower(upn), "@")
	s.mu.Lock()
	t := s.tenantLocked(domain)
	s.mu.Unlock()
	kind := "Unknown"
	if t != nil {
		kind = "Managed"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"ver": "1.0", "account_type": kind, "domain_name": domain,
		"cloud_instance_name": "microsoftonline.com", "cloud_audience_urn": "urn:federation:MicrosoftOnline",
	})
}

func (s *Server) publicClient(id string) *oauthError {
	s.mu.Lock()
	c := s.st.clients[strings.ToLower(id)]
	s.mu.Unlock()
	switch {
	case id == "":
		return newOAuthError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	case c == nil:
		return newOAuthError(http.StatusBadRequest, "unauthorized_client", 700016,
			"Application with identifier '%s' was not found in the directory. This can happen if the application has not been installed by the administrator of the tenant.", id)
	case c.secret != "":
		return newOAuthError(http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	return nil
}

// loopbackRedirect accepts the redirect URIs a public client registered for
// native apps may use: http on localhost or a loopback address, any port.
func loopbackRedirect(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// ---- authorize ----

var signInTmpl = template.Must(template.New("signin").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in to your account</title></head>
<body>
<h1>Sign in (azdo emulator)</h1>
{{if .Error}}<p style="color:red">{{.Error}}</p>{{end}}
<form method="POST" action="{{.Action}}">
<input type="hidden" name="ctx" value="{{.Ctx}}">
<p><label>User <input name="login" value="{{.Login}}" list="users" autofocus></label></p>
<datalist id="users">{{range .Users}}<option value="{{.}}">{{end}}</datalist>
<p><label>Password <input name="passwd" type="password"></label></p>
<p><input type="submit" value="Sign in"></p>
</form></body></html>
`))

var formPostTmpl = template.Must(template.New("formpost").Parse(`<!DOCTYPE html>
<html><head><title>Working...</title></head>
<body onload="document.forms[0].submit()">
<form method="POST" name="hiddenform" action="{{.Action}}">
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"></noscript>
</form></body></html>
`))

func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	seg, oerr := s.tenantSeg(r)
	if oerr != nil {
		authorizeErrorPage(w, oerr)
		return
	}
	if r.Method == http.MethodPost {
		s.serveSignInForm(w, r, seg)
		return
	}
	q := r.URL.Query()
	if oerr := s.publicClient(q.Get("client_id")); oerr != nil {
		authorizeErrorPage(w, oerr)
		return
	}
	redirect := q.Get("redirect_uri")
	if !loopbackRedirect(redirect) {
		// Entra never redirects to an unregistered address: it shows an error.
		authorizeErrorPage(w, newOAuthError(http.StatusBadRequest, "invalid_request", 50011,
			"The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application.", redirect))
		return
	}
	params := map[string]string{}
	for _, k := range []string{"client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "response_mode", "login_hint", "prompt", "nonce"} {
		params[k] = q.Get(k)
	}
	switch {
	case q.Get("response_type") != "code":
		s.authorizeReply(w, r, params, map[string]string{"error": "unsupported_response_type", "error_description": "AADSTS70005: response_type must be 'code'."})
		return
	case params["scope"] == "":
		s.authorizeReply(w, r, params, map[string]string{"error": "invalid_request", "error_description": "AADSTS900144: The request body must contain the following parameter: 'scope'."})
		return
	case params["code_challenge"] == "" || params["code_challenge_method"] != "S256":
		// The emulator insists on PKCE with S256, which every public client
		// should use; MSAL always does.
		s.authorizeReply(w, r, params, map[string]string{"error": "invalid_request", "error_description": "AADSTS9002325: Proof Key for Code Exchange (S256) is required."})
		return
	}
	if _, oerr := audienceOf(params["scope"]); oerr != nil {
		s.authorizeReply(w, r, params, map[string]string{"error": oerr.code, "error_description": "AADSTS" + strconv.Itoa(oerr.aadsts) + ": " + oerr.msg})
		return
	}
	if s.opts.AutoApprove {
		s.mu.Lock()
		u := s.st.users[strings.ToLower(s.User)]
		ok := s.userInTenantLocked(u, seg)
		s.mu.Unlock()
		if ok {
			s.completeSignIn(w, r, seg, params, u)
			return
		}
	}
	if params["prompt"] == "none" {
		s.authorizeReply(w, r, params, map[string]string{"error": "login_required", "error_description": "AADSTS50058: A silent sign-in request was sent but no user is signed in."})
		return
	}
	ctx := randomToken(18)
	s.mu.Lock()
	s.st.pending[ctx] = &pendingSignIn{tenantSeg: seg, params: params, expires: s.clock.now().Add(time.Hour)}
	s.mu.Unlock()
	s.renderSignIn(w, r, ctx, params["login_hint"], "")
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, ctx, login, errMsg string) {
	s.mu.Lock()
	var users []string
	for _, u := range s.st.users {
		users = append(users, u.upn)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = signInTmpl.Execute(w, map[string]any{"Action": r.URL.Path, "Ctx": ctx, "Login": login, "Users": users, "Error": errMsg})
}

// serveSignInForm handles the sign-in page's POST.
func (s *Server) serveSignInForm(w http.ResponseWriter, r *http.Request, seg string) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx := r.PostForm.Get("ctx")
	s.mu.Lock()
	p := s.st.pending[ctx]
	if p != nil && !s.clock.now().Before(p.expires) {
		delete(s.st.pending, ctx)
		p = nil
	}
	var u *user
	var msg string
	if p != nil {
		u = s.st.users[strings.ToLower(r.PostForm.Get("login"))]
		switch {
		case u == nil:
			msg = "AADSTS50034: The user account does not exist in this directory."
		case subtle.ConstantTimeCompare([]byte(u.password), []byte(r.PostForm.Get("passwd"))) != 1:
			msg, u = "AADSTS50126: Error validating credentials due to invalid username or password.", nil
		case !s.userInTenantLocked(u, p.tenantSeg):
			msg, u = "AADSTS50020: User account from identity provider does not exist in tenant.", nil
		default:
			delete(s.st.pending, ctx)
		}
	}
	s.mu.Unlock()
	switch {
	case p == nil:
		authorizeErrorPage(w, newOAuthError(http.StatusBadRequest, "invalid_request", 90014, "The sign-in session has expired or is unknown. Start again."))
	case u == nil:
		s.renderSignIn(w, r, ctx, r.PostForm.Get("login"), msg)
	default:
		s.completeSignIn(w, r, p.tenantSeg, p.params, u)
	}
}

// completeSignIn issues an authorization code for u and sends it back to
// the client's redirect URI.
func (s *Server) completeSignIn(w http.ResponseWriter, r *http.Request, seg string, params map[string]string, u *user) {
	code := "code." + randomToken(32)
	s.mu.Lock()
	s.st.codes[code] = &authCode{
		clientID: strings.ToLower(params["client_id"]), redirectURI: params["redirect_uri"], challenge: params["code_challenge"],
		scope: params["scope"], tenantSeg: seg, upn: u.upn, expires: s.clock.now().Add(codeLifetime),
	}
	s.mu.Unlock()
	s.authorizeReply(w, r, params, map[string]string{"code": code})
}

// authorizeReply returns a result (code or error) to the redirect URI in the
// requested response mode; state always travels along.
func (s *Server) authorizeReply(w http.ResponseWriter, r *http.Request, params map[string]string, fields map[string]string) {
	if params["state"] != "" {
		fields["state"] = params["state"]
	}
	w.Header().Set("Cache-Control", "no-store")
	switch params["response_mode"] {
	case "form_post":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = formPostTmpl.Execute(w, map[string]any{"Action": template.URL(params["redirect_uri"]), "Fields": fields})
	case "fragment":
		v := url.Values{}
		for k, f := range fields {
			v.Set(k, f)
		}
		http.Redirect(w, r, params["redirect_uri"]+"#"+v.Encode(), http.StatusFound)
	default:
		u, _ := url.Parse(params["redirect_uri"])
		v := u.Query()
		for k, f := range fields {
			v.Set(k, f)
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
}

func authorizeErrorPage(w http.ResponseWriter, e *oauthError) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(e.status)
	_, _ = w.Write([]byte("<!DOCTYPE html><html><head><title>Sign in error</title></head><body><h1>Sorry, but we're having trouble signing you in.</h1><p>" +
		template.HTMLEscapeString(e.code+": AADSTS"+strconv.Itoa(e.aadsts)+": "+e.msg) + "</p></body></html>\n"))
}

// ---- token ----

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	resp, oerr := s.token(r)
	if oerr != nil {
		s.writeOAuthError(w, oerr)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) token(r *http.Request) (map[string]any, *oauthError) {
	if r.Method != http.MethodPost {
		return nil, newOAuthError(http.StatusBadRequest, "invalid_request", 900561, "The endpoint only accepts POST requests. Received a %s request.", r.Method)
	}
	seg, oerr := s.tenantSeg(r)
	if oerr != nil {
		return nil, oerr
	}
	if err := r.ParseForm(); err != nil {
		return nil, newOAuthError(http.StatusBadRequest, "invalid_request", 900144, "The request body is not a valid form: %v", err)
	}
	f := r.PostForm
	grant := f.Get("grant_type")
	switch grant {
	case "client_credentials":
		return s.clientCredentials(seg, f)
	case "authorization_code", "refresh_token", "password", "urn:ietf:params:oauth:grant-type:device_code", "device_code":
	case "":
		return nil, newOAuthError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	default:
		return nil, newOAuthError(http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'.", grant)
	}
	clientID := strings.ToLower(f.Get("client_id"))
	if oerr := s.publicClient(clientID); oerr != nil {
		return nil, oerr
	}
	cae := caeCapable(f.Get("claims"))
	scope := f.Get("scope")
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.now()
	switch grant {
	case "authorization_code":
		code := s.st.codes[f.Get("code")]
		switch {
		case f.Get("code") == "":
			return nil, newOAuthError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'code'.")
		case code == nil:
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid: the authorization code is unknown.")
		case code.used:
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
		case !now.Before(code.expires):
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity.")
		case code.clientID != clientID:
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 70000, "The provided authorization code was issued to another client.")
		case code.redirectURI != f.Get("redirect_uri"):
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 50148, "The redirect_uri specified in the token request does not match the one used when obtaining the authorization code.")
		case !pkceMatches(code.challenge, f.Get("code_verifier")):
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
		case !strings.EqualFold(code.tenantSeg, seg):
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 50020, "The code was issued for another tenant.")
		}
		// A code is spent by its first redemption attempt that gets this
		// far, as on Entra.
		code.used = true
		if scope == "" {
			scope = code.scope
		}
		return s.issueUserTokensLocked(s.st.users[strings.ToLower(code.upn)], clientID, scope, "authorization_code", cae)
	case "refresh_token":
		raw := f.Get("refresh_token")
		rt := s.st.refresh[raw]
		switch {
		case raw == "":
			return nil, newOAuthError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'refresh_token'.")
		case rt == nil:
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid: the refresh token is unknown or was already used.")
		case rt.revoked:
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.")
		case !now.Before(rt.expires):
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 700082, "The refresh token has expired due to inactivity. The token was issued on %s and was inactive for 90.00:00:00.", rt.expires.Add(-refreshTokenLifetime).Format(time.RFC3339))
		case rt.clientID != clientID:
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 70000, "The refresh token was issued to a different client id.")
		}
		u := s.st.users[strings.ToLower(rt.upn)]
		if !s.userInTenantLocked(u, seg) {
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 50020, "User account does not exist in tenant '%s'.", seg)
		}
		if scope == "" {
			scope = rt.scope
		}
		resp, oerr := s.issueUserTokensLocked(u, clientID, scope, "refresh_token", cae)
		if oerr == nil {
			// Rotation: the redeemed refresh token is gone for good.
			delete(s.st.refresh, raw)
		}
		return resp, oerr
	case "password":
		u := s.st.users[strings.ToLower(f.Get("username"))]
		switch {
		case f.Get("username") == "" || f.Get("password") == "":
			return nil, newOAuthError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameters: 'username' and 'password'.")
		case u == nil || !s.userInTenantLocked(u, seg):
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 50034, "The user account %s does not exist in the directory.", f.Get("username"))
		case subtle.ConstantTimeCompare([]byte(u.password), []byte(f.Get("password"))) != 1:
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 50126, "Error validating credentials due to invalid username or password.")
		case scope == "":
			return nil, newOAuthError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
		}
		return s.issueUserTokensLocked(u, clientID, scope, "password", cae)
	default: // device code
		dc := s.st.devices[f.Get("device_code")]
		switch {
		case dc == nil:
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 70000, "The provided device code is unknown or was already used.")
		case dc.clientID != clientID:
			return nil, newOAuthError(http.StatusBadRequest, "invalid_grant", 70000, "The device code was issued to another client.")
		case !now.Before(dc.expires):
			delete(s.st.devices, dc.code)
			return nil, newOAuthError(http.StatusBadRequest, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.")
		case dc.approvedUPN == "":
			return nil, newOAuthError(http.StatusBadRequest, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
		}
		delete(s.st.devices, dc.code)
		if scope == "" {
			scope = dc.scope
		}
		return s.issueUserTokensLocked(s.st.users[strings.ToLower(dc.approvedUPN)], clientID, scope, "device_code", cae)
	}
}

func pkceMatches(challenge, verifier string) bool {
	if verifier == "" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

func (s *Server) clientCredentials(seg string, f url.Values) (map[string]any, *oauthError) {
	id := strings.ToLower(f.Get("client_id"))
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.st.clients[id]
	switch {
	case c == nil:
		return nil, newOAuthError(http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory.", f.Get("client_id"))
	case c.secret == "":
		return nil, newOAuthError(http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. The application is a public client.")
	case subtle.ConstantTimeCompare([]byte(c.secret), []byte(f.Get("client_secret"))) != 1:
		return nil, newOAuthError(http.StatusUnauthorized, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.")
	case seg == "organizations" || seg == "common":
		return nil, newOAuthError(http.StatusBadRequest, "invalid_request", 90133, "Use a tenant-specific endpoint for the client credentials flow.")
	}
	// MSAL adds openid, offline_access and profile even here; Entra ignores them.
	var scopes []string
	for _, sc := range strings.Fields(f.Get("scope")) {
		if !oidcScopes[strings.ToLower(sc)] {
			scopes = append(scopes, sc)
		}
	}
	if len(scopes) != 1 || !strings.HasSuffix(scopes[0], "/.default") {
		return nil, newOAuthError(http.StatusBadRequest, "invalid_scope", 1002012, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.", f.Get("scope"))
	}
	aud, oerr := audienceOf(scopes[0])
	if oerr != nil {
		return nil, oerr
	}
	return s.issueAppTokenLocked(c, s.tenantLocked(seg).id, aud), nil
}

// ---- device code ----

func (s *Server) serveDeviceCode(w http.ResponseWriter, r *http.Request) {
	seg, oerr := s.tenantSeg(r)
	if oerr == nil && r.Method != http.MethodPost {
		oerr = newOAuthError(http.StatusBadRequest, "invalid_request", 900561, "The endpoint only accepts POST requests. Received a %s request.", r.Method)
	}
	if oerr == nil {
		if err := r.ParseForm(); err != nil {
			oerr = newOAuthError(http.StatusBadRequest, "invalid_request", 900144, "The request body is not a valid form.")
		}
	}
	if oerr == nil {
		oerr = s.publicClient(r.PostForm.Get("client_id"))
	}
	scope := r.PostForm.Get("scope")
	if oerr == nil && scope == "" {
		oerr = newOAuthError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
	}
	if oerr == nil {
		_, oerr = audienceOf(scope)
	}
	if oerr != nil {
		s.writeOAuthError(w, oerr)
		return
	}
	dc := &deviceCode{
		code: "dc." + randomToken(32), userCode: newUserCode(), clientID: strings.ToLower(r.PostForm.Get("client_id")),
		scope: scope, tenantSeg: seg, expires: s.clock.now().Add(deviceCodeLifetime),
	}
	s.mu.Lock()
	s.st.devices[dc.code] = dc
	if s.opts.AutoApprove {
		if u := s.st.users[strings.ToLower(s.User)]; u != nil && s.userInTenantLocked(u, seg) {
			dc.approvedUPN = u.upn
		}
	}
	s.mu.Unlock()
	verify := s.URL + "/devicelogin"
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code": dc.userCode, "device_code": dc.code, "verification_uri": verify,
		"expires_in": int(deviceCodeLifetime / time.Second), "interval": 5,
		"message": "To sign in, use a web browser to open the page " + verify + " and enter the code " + dc.userCode + " to authenticate.",
	})
}

// newUserCode makes a 9-character code from an alphabet without look-alike
// characters, like Entra's.
func newUserCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := randomBytes(9)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

var deviceLoginTmpl = template.Must(template.New("devicelogin").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Enter code</title></head><body>
<h1>Device sign-in (azdo emulator)</h1>
{{if .Message}}<p>{{.Message}}</p>{{end}}
<form method="POST" action="/devicelogin">
<p><label>Code <input name="otc" value="{{.Code}}" autofocus></label></p>
<p><label>User <input name="login" value="{{.Login}}"></label></p>
<p><label>Password <input name="passwd" type="password"></label></p>
<p><input type="submit" value="Sign in"></p>
</form></body></html>
`))

// serveDeviceLogin is the verification page a person uses with a browser.
func (s *Server) serveDeviceLogin(w http.ResponseWriter, r *http.Request) {
	data := map[string]string{"Code": r.URL.Query().Get("otc"), "Login": s.User}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		code, login := r.PostForm.Get("otc"), r.PostForm.Get("login")
		data["Code"], data["Login"] = code, login
		s.mu.Lock()
		u := s.st.users[strings.ToLower(login)]
		var err error
		if u == nil || subtle.ConstantTimeCompare([]byte(u.password), []byte(r.PostForm.Get("passwd"))) != 1 {
			data["Message"] = "AADSTS50126: Error validating credentials due to invalid username or password."
			status = http.StatusUnauthorized
		} else if err = s.approveDeviceCodeLocked(code, login); err != nil {
			data["Message"] = err.Error()
			status = http.StatusBadRequest
		} else {
			data["Message"] = "You have signed in. You may now close this window."
		}
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = deviceLoginTmpl.Execute(w, data)
}
