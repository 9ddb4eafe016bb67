package azdotest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

var devopsScopes = []string{ResourceID + "/.default"}

func newPublic(t *testing.T, s *Server, clientID, tenant string) public.Client {
	t.Helper()
	c, err := public.New(clientID, public.WithAuthority(s.URL+"/"+tenant), public.WithInstanceDiscovery(false), public.WithHTTPClient(s.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// parseForm extracts a page's form action and hidden fields.
func parseForm(t *testing.T, page []byte) (string, url.Values) {
	t.Helper()
	action, fields, err := signInForm(page)
	if err != nil {
		t.Fatalf("%v:\n%s", err, page)
	}
	return action, fields
}

// browser plays the user's browser for MSAL's interactive flow: it follows
// the authorize URL, signs in on the page when one is shown (upn != ""),
// and submits the form_post reply to MSAL's loopback listener.
func browser(t *testing.T, s *Server, upn, password string) func(string) error {
	return func(authURL string) error {
		c := s.Client()
		resp, err := c.Get(authURL)
		if err != nil {
			return err
		}
		page := readAll(t, resp)
		if upn != "" {
			action, fields := parseForm(t, page)
			fields.Set("login", upn)
			fields.Set("passwd", password)
			resp, err = c.PostForm(s.URL+action, fields)
			if err != nil {
				return err
			}
			page = readAll(t, resp)
		}
		action, fields := parseForm(t, page)
		if !strings.HasPrefix(action, "http://localhost:") {
			return fmt.Errorf("form_post action %q", action)
		}
		if fields.Get("code") == "" || fields.Get("state") == "" {
			return fmt.Errorf("form_post fields %v", fields)
		}
		resp, err = http.PostForm(action, fields)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkToken asserts an access token works on the profile API as the user.
func checkToken(t *testing.T, s *Server, token, upn string) {
	t.Helper()
	st, _, body := do(t, s.Client(), "GET", s.URL+"/_apis/profile/profiles/me?api-version=7.1", "Bearer "+token, "")
	if st != http.StatusOK {
		t.Fatalf("profile with token: %d %s", st, body)
	}
	var p struct{ ID, DisplayName, EmailAddress, PublicAlias string }
	decodeJSON(t, body, &p)
	if !strings.EqualFold(p.EmailAddress, upn) || p.ID == "" {
		t.Fatalf("profile = %+v, want %s", p, upn)
	}
}

func TestMSALAuthCodeAutoApprove(t *testing.T) {
	s := newTestServer(t, Options{AutoApprove: true})
	pc := newPublic(t, s, DefaultClientID, s.TenantID)
	ctx := context.Background()
	res, err := pc.AcquireTokenInteractive(ctx, devopsScopes, public.WithOpenURL(browser(t, s, "", "")))
	if err != nil {
		t.Fatal(err)
	}
	if res.Account.PreferredUsername != s.User || res.Account.Realm != s.TenantID {
		t.Errorf("account = %+v", res.Account)
	}
	checkToken(t, s, res.AccessToken, s.User)
	// The account is cached: a silent call returns the cached token.
	again, err := pc.AcquireTokenSilent(ctx, devopsScopes, public.WithSilentAccount(res.Account))
	if err != nil || again.AccessToken != res.AccessToken {
		t.Errorf("silent: %v (same token %v)", err, again.AccessToken == res.AccessToken)
	}
	c := s.Counters()
	if c.Grants["authorization_code"] != 1 || c.Requests["authorize"] != 1 || c.Requests["instance-discovery"] != 0 || c.Requests["openid-configuration"] != 1 {
		t.Errorf("counters = %+v", c)
	}
}

func TestMSALAuthCodeSignInPage(t *testing.T) {
	s := newTestServer(t, Options{})
	if err := s.AddUser("bob@contoso.example", "bobs-pw", s.TenantID, s.Org); err != nil {
		t.Fatal(err)
	}
	pc := newPublic(t, s, DefaultClientID, "organizations")
	ctx := context.Background()

	// A wrong password shows the page again; MSAL never hears back, and waits until cancelled.
	c := s.Client()
	authURL := ""
	ctxWrong, cancel := context.WithCancel(ctx)
	defer cancel()
	_, err := pc.AcquireTokenInteractive(ctxWrong, devopsScopes, public.WithOpenURL(func(u string) error {
		authURL = u
		resp, err := c.Get(u)
		if err != nil {
			return err
		}
		action, fields := parseForm(t, readAll(t, resp))
		fields.Set("login", "bob@contoso.example")
		fields.Set("passwd", "wrong")
		resp, err = c.PostForm(s.URL+action, fields)
		if err != nil {
			return err
		}
		page := string(readAll(t, resp))
		if !strings.Contains(page, "AADSTS50126") || strings.Contains(page, `name="code"`) {
			return fmt.Errorf("wrong password page: %s", page)
		}
		cancel()
		return nil
	}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("wrong password: err = %v", err)
	}
	if !strings.Contains(authURL, "response_mode=form_post") || !strings.Contains(authURL, "code_challenge_method=S256") {
		t.Errorf("authorize URL %s", authURL)
	}

	res, err := pc.AcquireTokenInteractive(ctx, devopsScopes, public.WithOpenURL(browser(t, s, "bob@contoso.example", "bobs-pw")))
	if err != nil {
		t.Fatal(err)
	}
	if res.Account.PreferredUsername != "bob@contoso.example" {
		t.Errorf("account %+v", res.Account)
	}
	checkToken(t, s, res.AccessToken, "bob@contoso.example")
}

func TestMSALDeviceCode(t *testing.T) {
	for _, auto := range []bool{false, true} {
		t.Run(fmt.Sprintf("auto=%v", auto), func(t *testing.T) {
			s := newTestServer(t, Options{AutoApprove: auto})
			pc := newPublic(t, s, DefaultClientID, s.TenantID)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			dc, err := pc.AcquireTokenByDeviceCode(ctx, devopsScopes)
			if err != nil {
				t.Fatal(err)
			}
			if dc.Result.UserCode == "" || !strings.Contains(dc.Result.Message, dc.Result.UserCode) || dc.Result.VerificationURL != s.URL+"/devicelogin" {
				t.Errorf("result %+v", dc.Result)
			}
			approved := make(chan error, 1)
			if !auto {
				go func() {
					// Let MSAL poll and be told to wait before approving.
					if err := s.WaitFor(ctx, func(c Counters) bool { return c.Requests["token"] >= 2 }); err != nil {
						approved <- err
						return
					}
					approved <- s.ApproveDeviceCode(strings.ToLower(dc.Result.UserCode), s.User)
				}()
			} else {
				approved <- nil
			}
			res, err := dc.AuthenticationResult(ctx)
			if err := <-approved; err != nil {
				t.Fatal(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			checkToken(t, s, res.AccessToken, s.User)
			if g := s.Counters().Grants["device_code"]; g != 1 {
				t.Errorf("device_code grants %d", g)
			}
		})
	}
}

func TestMSALDeviceCodeExpires(t *testing.T) {
	s := newTestServer(t, Options{})
	pc := newPublic(t, s, DefaultClientID, s.TenantID)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dc, err := pc.AcquireTokenByDeviceCode(ctx, devopsScopes)
	if err != nil {
		t.Fatal(err)
	}
	s.Advance(16 * time.Minute)
	if err := s.ApproveDeviceCode(dc.Result.UserCode, s.User); err == nil {
		t.Error("approving an expired code succeeded")
	}
	_, err = dc.AuthenticationResult(ctx)
	if err == nil || !strings.Contains(err.Error(), "expired_token") {
		t.Fatalf("err = %v", err)
	}
}

func TestMSALPasswordAndSilentRefresh(t *testing.T) {
	// Under MSAL's 5-minute margin: every silent call must refresh.
	s := newTestServer(t, Options{AccessTokenLifetime: 4 * time.Minute})
	pc := newPublic(t, s, DefaultClientID, s.TenantID)
	ctx := context.Background()
	res, err := pc.AcquireTokenByUsernamePassword(ctx, devopsScopes, s.User, s.Password)
	if err != nil {
		t.Fatal(err)
	}
	checkToken(t, s, res.AccessToken, s.User)
	if res.ExpiresOn.Sub(time.Now()) > 5*time.Minute {
		t.Errorf("expires on %v", res.ExpiresOn)
	}
	s.Advance(5 * time.Minute)
	// The server now rejects the old token, with Azure DevOps' 203 page.
	if st, h, _ := do(t, s.Client(), "GET", s.URL+"/_apis/profile/profiles/me?api-version=7.1", "Bearer "+res.AccessToken, ""); st != http.StatusNonAuthoritativeInfo || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("expired token: %d %s", st, h.Get("Content-Type"))
	}
	res2, err := pc.AcquireTokenSilent(ctx, devopsScopes, public.WithSilentAccount(res.Account))
	if err != nil {
		t.Fatal(err)
	}
	if res2.AccessToken == res.AccessToken {
		t.Fatal("silent call did not refresh")
	}
	checkToken(t, s, res2.AccessToken, s.User)
	// Refresh tokens rotate: a second refresh uses the new one.
	if _, err := pc.AcquireTokenSilent(ctx, devopsScopes, public.WithSilentAccount(res.Account)); err != nil {
		t.Fatal(err)
	}
	c := s.Counters()
	if c.Grants["password"] != 1 || c.Grants["refresh_token"] != 2 || c.Requests["userrealm"] != 1 {
		t.Errorf("counters %+v", c)
	}

	// Revoked sessions: the next refresh fails with invalid_grant.
	if err := s.RevokeSessions(s.User); err != nil {
		t.Fatal(err)
	}
	_, err = pc.AcquireTokenSilent(ctx, devopsScopes, public.WithSilentAccount(res.Account))
	if err == nil || !strings.Contains(err.Error(), "invalid_grant") || !strings.Contains(err.Error(), "AADSTS50173") {
		t.Fatalf("after RevokeSessions: %v", err)
	}
}

func TestMSALErrors(t *testing.T) {
	s := newTestServer(t, Options{})
	ctx := context.Background()

	_, err := newPublic(t, s, "11111111-2222-3333-4444-555555555555", s.TenantID).AcquireTokenByUsernamePassword(ctx, devopsScopes, s.User, s.Password)
	if err == nil || !strings.Contains(err.Error(), "unauthorized_client") || !strings.Contains(err.Error(), "AADSTS700016") {
		t.Errorf("bad client id: %v", err)
	}
	_, err = newPublic(t, s, DefaultClientID, newGUID()).AcquireTokenByUsernamePassword(ctx, devopsScopes, s.User, s.Password)
	if err == nil || !strings.Contains(err.Error(), "AADSTS90002") {
		t.Errorf("bad tenant: %v", err)
	}
	_, err = newPublic(t, s, DefaultClientID, s.TenantID).AcquireTokenByUsernamePassword(ctx, devopsScopes, s.User, "wrong")
	if err == nil || !strings.Contains(err.Error(), "AADSTS50126") {
		t.Errorf("bad password: %v", err)
	}
	_, err = newPublic(t, s, DefaultClientID, s.TenantID).AcquireTokenByDeviceCode(ctx, []string{"https://unknown.example/.default"})
	if err == nil || !strings.Contains(err.Error(), "invalid_resource") {
		t.Errorf("unknown resource: %v", err)
	}
	if n := s.Counters().Requests["instance-discovery"]; n != 0 {
		t.Errorf("instance discovery called %d times", n)
	}
}

// authorizeRaw gets a code for the default user with response_mode=query.
func authorizeRaw(t *testing.T, s *Server, challenge, redirect string) string {
	t.Helper()
	c := s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	q := url.Values{"client_id": {DefaultClientID}, "response_type": {"code"}, "redirect_uri": {redirect},
		"scope": {ResourceID + "/.default openid offline_access profile"}, "state": {"st"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	resp, err := c.Get(s.URL + "/" + s.TenantID + "/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "st" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

type tokenReply struct {
	Error            string `json:"-"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	IDToken          string `json:"id_token"`
	ClientInfo       string `json:"client_info"`
	Scope            string `json:"scope"`
	ExpiresIn        int    `json:"expires_in"`
	TokenType        string `json:"token_type"`
}

func postToken(t *testing.T, s *Server, tenant string, form url.Values) (int, tokenReply) {
	t.Helper()
	resp, err := s.Client().PostForm(s.URL+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var r tokenReply
	b := readAll(t, resp)
	var raw map[string]any
	decodeJSON(t, b, &raw)
	decodeJSON(t, b, &r)
	if e, ok := raw["error"].(string); ok {
		r.Error = e
	}
	return resp.StatusCode, r
}

func TestAuthCodeRaw(t *testing.T) {
	s := newTestServer(t, Options{AutoApprove: true})
	verifier := "verifier-" + randomToken(32)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	redirect := "http://localhost:1234"
	scope := ResourceID + "/.default openid offline_access profile"
	form := func(code, verifier, redirect string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "client_id": {DefaultClientID}, "code": {code},
			"code_verifier": {verifier}, "redirect_uri": {redirect}, "scope": {scope}, "client_info": {"1"}}
	}

	code := authorizeRaw(t, s, challenge, redirect)
	st, r := postToken(t, s, s.TenantID, form(code, "wrong-verifier", redirect))
	if st != 400 || r.Error != "invalid_grant" || len(r.ErrorCodes) != 1 || r.ErrorCodes[0] != 501481 || !strings.HasPrefix(r.ErrorDescription, "AADSTS501481:") {
		t.Errorf("wrong verifier: %d %+v", st, r)
	}

	code = authorizeRaw(t, s, challenge, redirect)
	if st, r := postToken(t, s, s.TenantID, form(code, verifier, "http://localhost:9999")); st != 400 || r.Error != "invalid_grant" {
		t.Errorf("redirect mismatch: %d %+v", st, r)
	}
	code = authorizeRaw(t, s, challenge, redirect)
	st, r = postToken(t, s, s.TenantID, form(code, verifier, redirect))
	if st != 200 || r.Scope != scope || r.TokenType != "Bearer" || r.ExpiresIn != 3600 || r.RefreshToken == "" {
		t.Fatalf("redeem: %d %+v", st, r)
	}
	// id_token payload and client_info.
	parts := strings.Split(r.IDToken, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	decodeJSON(t, payload, &claims)
	for _, k := range []string{"aud", "iss", "oid", "sub", "tid", "preferred_username", "name", "exp", "iat"} {
		if claims[k] == nil {
			t.Errorf("id_token lacks %s: %s", k, payload)
		}
	}
	ci, err := base64.RawURLEncoding.DecodeString(r.ClientInfo)
	if err != nil {
		t.Fatalf("client_info %q: %v", r.ClientInfo, err)
	}
	var info map[string]string
	decodeJSON(t, ci, &info)
	if info["uid"] != claims["oid"] || info["utid"] != s.TenantID {
		t.Errorf("client_info %v", info)
	}
	var atClaims map[string]any
	atPayload, _ := base64.RawURLEncoding.DecodeString(strings.Split(r.AccessToken, ".")[1])
	decodeJSON(t, atPayload, &atClaims)
	if atClaims["aud"] != ResourceID || atClaims["appid"] != DefaultClientID || atClaims["scp"] == nil || atClaims["tid"] != s.TenantID {
		t.Errorf("access token claims %v", atClaims)
	}

	// Reused code.
	if st, r := postToken(t, s, s.TenantID, form(code, verifier, redirect)); st != 400 || r.Error != "invalid_grant" || r.ErrorCodes[0] != 54005 {
		t.Errorf("reused code: %d %+v", st, r)
	}
	// Refresh rotation: the new refresh token works once, the old never again.
	rf := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {DefaultClientID}, "refresh_token": {rt}, "scope": {scope}}
	}
	st, r2 := postToken(t, s, s.TenantID, rf(r.RefreshToken))
	if st != 200 || r2.RefreshToken == "" || r2.RefreshToken == r.RefreshToken {
		t.Fatalf("refresh: %d %+v", st, r2)
	}
	if st, r3 := postToken(t, s, s.TenantID, rf(r.RefreshToken)); st != 400 || r3.Error != "invalid_grant" {
		t.Errorf("reused refresh token: %d %+v", st, r3)
	}
	// Refresh tokens die after 90 idle days on the emulator clock.
	s.Advance(91 * 24 * time.Hour)
	if st, r3 := postToken(t, s, s.TenantID, rf(r2.RefreshToken)); st != 400 || r3.Error != "invalid_grant" || r3.ErrorCodes[0] != 700082 {
		t.Errorf("expired refresh token: %d %+v", st, r3)
	}
	// Unknown grant, GET on token endpoint.
	if st, r := postToken(t, s, s.TenantID, url.Values{"grant_type": {"magic"}, "client_id": {DefaultClientID}}); st != 400 || r.Error != "unsupported_grant_type" {
		t.Errorf("unknown grant: %d %+v", st, r)
	}
	// Unregistered redirect: an error page, never a redirect.
	c := s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(s.URL + "/" + s.TenantID + "/oauth2/v2.0/authorize?client_id=" + DefaultClientID + "&response_type=code&redirect_uri=https://evil.example/&scope=openid")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Location") != "" {
		t.Errorf("evil redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestClientCredentials(t *testing.T) {
	const appID, secret = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "s3cret"
	s := newTestServer(t, Options{ConfidentialClients: map[string]string{appID: secret}})
	ctx := context.Background()
	mk := func(sec string) confidential.Client {
		cred, err := confidential.NewCredFromSecret(sec)
		if err != nil {
			t.Fatal(err)
		}
		c, err := confidential.New(s.URL+"/"+s.TenantID, appID, cred, confidential.WithInstanceDiscovery(false), confidential.WithHTTPClient(s.Client()))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	res, err := mk(secret).AcquireTokenByCredential(ctx, devopsScopes)
	if err != nil {
		t.Fatal(err)
	}
	if s.Counters().Grants["client_credentials"] != 1 {
		t.Errorf("counters %+v", s.Counters())
	}
	// App-only tokens cannot manage PATs: 203 sign-in page.
	st, h, _ := do(t, s.Client(), "GET", s.URL+"/"+s.Org+"/_apis/tokens/pats?api-version="+APIVersion, "Bearer "+res.AccessToken, "")
	if st != http.StatusNonAuthoritativeInfo || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("app-only token on PAT API: %d", st)
	}
	_, err = mk("wrong").AcquireTokenByCredential(ctx, devopsScopes)
	if err == nil || !strings.Contains(err.Error(), "invalid_client") || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong secret: %v", err)
	}
}
