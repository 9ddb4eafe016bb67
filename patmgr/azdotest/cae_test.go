package azdotest

import (
	"context"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

var claimsRE = regexp.MustCompile(`error="insufficient_claims", claims="([^"]+)"`)

// challengedClaims returns the decoded claims of the org's claims challenge to token, or "".
func challengedClaims(t *testing.T, s *Server, token string) string {
	t.Helper()
	st, h, _ := do(t, s.Client(), "GET", s.URL+"/"+s.Org, "Bearer "+token, "")
	m := claimsRE.FindStringSubmatch(h.Get("WWW-Authenticate"))
	if st != http.StatusUnauthorized || m == nil {
		if st != http.StatusOK {
			t.Fatalf("org answered %d without a claims challenge (%q)", st, h.Get("WWW-Authenticate"))
		}
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatalf("claims %q: %v", m[1], err)
	}
	return string(b)
}

func TestClaimsChallengeAfterACriticalEvent(t *testing.T) {
	s := newTestServer(t, Options{})
	ctx := context.Background()
	cae, err := public.New(DefaultClientID, public.WithAuthority(s.URL+"/"+s.TenantID), public.WithInstanceDiscovery(false),
		public.WithHTTPClient(s.Client()), public.WithClientCapabilities([]string{"cp1"}))
	if err != nil {
		t.Fatal(err)
	}
	plain := newPublic(t, s, DefaultClientID, s.TenantID)
	res, err := cae.AcquireTokenByUsernamePassword(ctx, devopsScopes, s.User, s.Password)
	if err != nil {
		t.Fatal(err)
	}
	old, err := plain.AcquireTokenByUsernamePassword(ctx, devopsScopes, s.User, s.Password)
	if err != nil {
		t.Fatal(err)
	}
	if c := challengedClaims(t, s, res.AccessToken); c != "" {
		t.Fatalf("challenged before any event: %s", c)
	}
	if err := s.ChallengeSessions(s.User); err != nil {
		t.Fatal(err)
	}
	claims := challengedClaims(t, s, res.AccessToken)
	if !strings.Contains(claims, `"nbf":{"essential":true`) {
		t.Fatalf("claims %q", claims)
	}
	// The PAT API and git challenge too; a token without cp1 keeps working until it expires.
	if st, h, _ := do(t, s.Client(), "GET", s.URL+"/"+s.Org+"/_apis/tokens/pats?api-version="+APIVersion, "Bearer "+res.AccessToken, ""); st != http.StatusUnauthorized || !claimsRE.MatchString(h.Get("WWW-Authenticate")) {
		t.Errorf("PAT API: %d %q", st, h.Get("WWW-Authenticate"))
	}
	if st, h, _ := do(t, s.Client(), "GET", s.RepoURL+"/info/refs?service=git-upload-pack", "Basic "+basic("x", res.AccessToken), ""); st != http.StatusUnauthorized || !claimsRE.MatchString(h.Get("WWW-Authenticate")) {
		t.Errorf("git: %d %q", st, h.Get("WWW-Authenticate"))
	}
	if c := challengedClaims(t, s, old.AccessToken); c != "" {
		t.Errorf("a token without cp1 was challenged: %s", c)
	}
	// The refresh token survives this event: a token asked for with the claims works.
	fresh, err := cae.AcquireTokenSilent(ctx, devopsScopes, public.WithSilentAccount(res.Account), public.WithClaims(claims))
	if err != nil {
		t.Fatal(err)
	}
	if c := challengedClaims(t, s, fresh.AccessToken); c != "" {
		t.Fatalf("the fresh token was challenged: %s", c)
	}

	// Revoked sessions void the tokens and the refresh token alike.
	if err := s.RevokeSessions(s.User); err != nil {
		t.Fatal(err)
	}
	claims = challengedClaims(t, s, fresh.AccessToken)
	if claims == "" {
		t.Fatal("no challenge after RevokeSessions")
	}
	if _, err := cae.AcquireTokenSilent(ctx, devopsScopes, public.WithSilentAccount(res.Account), public.WithClaims(claims)); err == nil || !strings.Contains(err.Error(), "AADSTS50173") {
		t.Fatalf("silent after RevokeSessions: %v", err)
	}
}

func TestFailSignIns(t *testing.T) {
	s := newTestServer(t, Options{AutoApprove: true})
	ctx := context.Background()
	pc := newPublic(t, s, DefaultClientID, s.TenantID)
	for _, tc := range []struct {
		who    string
		aadsts string
		code   int
	}{
		{s.User, "AADSTS9002332", 9002332},
		{"contoso.example", "AADSTS65001", 65001},
		{s.TenantID, "AADSTS50076", 50076},
		{s.User, "AADSTS50079", 50079},
		{s.User, "AADSTS700016", 700016},
		{s.TenantID, "AADSTS90002", 90002},
	} {
		if err := s.FailSignIns(tc.who, tc.code); err != nil {
			t.Fatal(err)
		}
		_, err := pc.AcquireTokenByUsernamePassword(ctx, devopsScopes, s.User, s.Password)
		if err == nil || !strings.Contains(err.Error(), tc.aadsts) {
			t.Errorf("%s for %s: %v", tc.aadsts, tc.who, err)
		}
		if err := s.FailSignIns(tc.who, 0); err != nil {
			t.Fatal(err)
		}
	}
	// 53003 blocks the device code flow only.
	if err := s.FailSignIns(s.TenantID, 53003); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AcquireTokenByUsernamePassword(ctx, devopsScopes, s.User, s.Password); err != nil {
		t.Errorf("53003 blocked the password flow: %v", err)
	}
	dc, err := pc.AcquireTokenByDeviceCode(ctx, devopsScopes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dc.AuthenticationResult(ctx); err == nil || !strings.Contains(err.Error(), "AADSTS53003") {
		t.Errorf("device code under 53003: %v", err)
	}
	if err := s.FailSignIns("nobody@contoso.example", 53003); err == nil {
		t.Error("an unknown user was accepted")
	}
	if err := s.FailSignIns(s.User, 12345); err == nil {
		t.Error("an unknown code was accepted")
	}
}

func TestControlSessionsChallengeAndSignInFailures(t *testing.T) {
	s := newTestServer(t, Options{})
	c := s.Client()
	if st, _, b := do(t, c, "POST", s.URL+"/_emulator/sessions/challenge", "", `{"upn":"`+s.User+`"}`); st != http.StatusOK {
		t.Fatalf("challenge: %d %s", st, b)
	}
	if st, _, b := do(t, c, "POST", s.URL+"/_emulator/sessions/challenge", "", `{"upn":"nobody@contoso.example"}`); st != http.StatusNotFound {
		t.Fatalf("challenge of an unknown user: %d %s", st, b)
	}
	if st, _, b := do(t, c, "POST", s.URL+"/_emulator/signin-failures", "", `{"who":"contoso.example","aadsts":65001}`); st != http.StatusOK {
		t.Fatalf("signin-failures: %d %s", st, b)
	}
	pc := newPublic(t, s, DefaultClientID, s.TenantID)
	if _, err := pc.AcquireTokenByUsernamePassword(context.Background(), devopsScopes, s.User, s.Password); err == nil || !strings.Contains(err.Error(), "AADSTS65001") {
		t.Fatalf("after signin-failures: %v", err)
	}
	if st, _, b := do(t, c, "POST", s.URL+"/_emulator/signin-failures", "", `{"who":"contoso.example","aadsts":1}`); st != http.StatusBadRequest {
		t.Fatalf("an unknown code: %d %s", st, b)
	}
	if st, _, b := do(t, c, "POST", s.URL+"/_emulator/signin-failures", "", `{"who":"contoso.example","aadsts":0}`); st != http.StatusOK {
		t.Fatalf("lifting: %d %s", st, b)
	}
	if _, err := pc.AcquireTokenByUsernamePassword(context.Background(), devopsScopes, s.User, s.Password); err != nil {
		t.Fatalf("after lifting: %v", err)
	}
}
