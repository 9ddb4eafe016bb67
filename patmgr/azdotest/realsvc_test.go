package azdotest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// patFormat is a PAT as Azure DevOps issues them since July 2024.
var patFormat = regexp.MustCompile(`^[A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4}$`)

func TestPATsLookReal(t *testing.T) {
	s := newTestServer(t, Options{})
	api := patAPI{t, s, s.Org, userToken(t, s, s.User, s.Password, "")}
	whole := s.Now().Add(time.Hour).Truncate(time.Second)
	st, r := api.create("x", "vso.code", whole)
	if st != 200 || r.PatToken == nil || r.PatToken.Token == nil {
		t.Fatalf("create: %d %+v", st, r)
	}
	if tok := *r.PatToken.Token; len(tok) != 84 || !patFormat.MatchString(tok) {
		t.Errorf("PAT %d characters, not in the current format", len(tok))
	}
	// The service writes a whole second without a fraction, and drops a fraction's trailing zeros.
	if want := whole.Format("2006-01-02T15:04:05Z"); r.PatToken.ValidTo != want {
		t.Errorf("validTo %q, want %q", r.PatToken.ValidTo, want)
	}
	body := `{"displayName":"y","scope":"vso.code","validTo":"` + whole.Add(123450*time.Microsecond).Format(time.RFC3339Nano) + `"}`
	api.call("POST", "", body, &r)
	if want := whole.Format("2006-01-02T15:04:05") + ".12345Z"; r.PatToken.ValidTo != want {
		t.Errorf("validTo %q, want %q", r.PatToken.ValidTo, want)
	}
	if !ts7.MatchString(r.PatToken.ValidFrom) {
		t.Errorf("validFrom %q", r.PatToken.ValidFrom)
	}
}

func TestPATAPIVersions(t *testing.T) {
	s := newTestServer(t, Options{})
	tok := userToken(t, s, s.User, s.Password, "")
	call := func(version, method, body string) (int, map[string]any) {
		t.Helper()
		st, _, b := do(t, s.Client(), method, s.URL+"/"+s.Org+"/_apis/tokens/pats?api-version="+version, "Bearer "+tok, body)
		var out map[string]any
		decodeJSON(t, b, &out)
		return st, out
	}
	create := `{"displayName":"d","scope":"vso.code"}`
	for _, v := range []string{APIVersion71, APIVersion72} {
		st, out := call(v, "POST", create)
		if st != 200 || out["patTokenError"] != "none" {
			t.Fatalf("%s create: %d %v", v, st, out)
		}
		_, msg := out["patTokenErrorMessage"]
		if msg != (v == APIVersion72) {
			t.Errorf("%s: patTokenErrorMessage present %v", v, msg)
		}
	}

	// The codes only 7.2 has, from the emulator's own policies and from faults.
	if err := s.SetPolicy(s.Org, Policy{DisablePATCreation: true}); err != nil {
		t.Fatal(err)
	}
	if _, out := call(APIVersion72, "POST", create); out["patTokenError"] != "disablePatCreationPolicyViolation" || out["patTokenErrorMessage"] == "" {
		t.Errorf("7.2 under a no-PAT policy: %v", out)
	}
	if _, out := call(APIVersion71, "POST", create); out["patTokenError"] != "accessDenied" || out["patTokenErrorMessage"] != nil {
		t.Errorf("7.1 under a no-PAT policy: %v", out)
	}
	for code, old := range patErrors71 {
		for _, v := range []string{APIVersion72, APIVersion71} {
			if err := s.InjectFault(Fault{Endpoint: "pats.create", Kind: FaultPATError, Code: code}); err != nil {
				t.Fatal(err)
			}
			want := code
			if v == APIVersion71 {
				want = old
			}
			if _, out := call(v, "POST", create); out["patTokenError"] != want {
				t.Errorf("%s fault %s: got %v, want %s", v, code, out["patTokenError"], want)
			}
		}
	}
}

// noRedirects is a client of s that shows redirects instead of following them.
func noRedirects(s *Server) *http.Client {
	c := s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func TestRefusedTokenShapes(t *testing.T) {
	s := newTestServer(t, Options{})
	good := userToken(t, s, s.User, s.Password, "")
	s.Advance(2 * time.Hour) // the token is now refused
	pats := s.URL + "/" + s.Org + "/_apis/tokens/pats?api-version=" + APIVersion
	for _, tc := range []struct {
		method, url string
		suppress    bool
		want        int
	}{
		{"GET", pats, false, http.StatusFound},
		{"GET", s.URL + "/_apis/profile/profiles/me?api-version=7.1", false, http.StatusFound},
		{"POST", pats, false, http.StatusNonAuthoritativeInfo},
		{"PUT", pats, false, http.StatusUnauthorized},
		{"DELETE", pats + "&authorizationId=" + newGUID(), false, http.StatusUnauthorized},
		{"GET", pats, true, http.StatusUnauthorized},
		{"GET", s.URL + "/_apis/accounts?api-version=7.1&memberId=x", true, http.StatusUnauthorized},
		{"POST", pats, true, http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(tc.method, tc.url, strings.NewReader(`{"displayName":"d","scope":"vso.code"}`))
		req.Header.Set("Authorization", "Bearer "+good)
		if tc.suppress {
			req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
		}
		resp, err := noRedirects(s).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		name := tc.method + " " + tc.url + map[bool]string{true: " (suppressed)"}[tc.suppress]
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", name, resp.StatusCode, tc.want)
			continue
		}
		ct := resp.Header.Get("Content-Type")
		switch tc.want {
		case http.StatusFound:
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || loc.Host == strings.TrimPrefix(s.URL, "https://") || loc.Path != "/_signin" {
				t.Errorf("%s: redirected to %q, want a sign-in page on another host", name, resp.Header.Get("Location"))
			}
		case http.StatusNonAuthoritativeInfo:
			if !strings.HasPrefix(ct, "text/html") {
				t.Errorf("%s: %s", name, ct)
			}
		case http.StatusUnauthorized:
			if !strings.HasPrefix(ct, "application/json") || !json.Valid(b) || !strings.Contains(string(b), "TF400813") {
				t.Errorf("%s: %s %s", name, ct, b)
			}
		}
	}
	if c := s.Counters(); c.Requests["signin"] != 0 {
		t.Errorf("the sign-in page was asked %d times", c.Requests["signin"])
	}

	// A client that follows the redirect lands on the sign-in page, counted, with its credential
	// counted apart (net/http drops it on a host change, as it should).
	st, _, _ := do(t, s.Client(), "GET", pats, "Bearer "+good, "")
	if c := s.Counters(); st != http.StatusNonAuthoritativeInfo || c.Requests["signin"] != 1 || c.Requests["signin.credential"] != 0 {
		t.Errorf("following the redirect: %d, counters %v", st, c.Requests)
	}

	// The fault shows the redirect to a client that suppressed it.
	if err := s.InjectFault(Fault{Endpoint: "pats.create", Kind: FaultSignInRedirect}); err != nil {
		t.Fatal(err)
	}
	fresh := userToken(t, s, s.User, s.Password, "")
	req, _ := http.NewRequest("POST", pats, strings.NewReader(`{"displayName":"d","scope":"vso.code"}`))
	req.Header.Set("Authorization", "Bearer "+fresh)
	req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
	resp, err := noRedirects(s).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), s.SignInURL()) {
		t.Errorf("signinredirect fault: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestClientWithoutPATScopes(t *testing.T) {
	s := newTestServer(t, Options{})
	const app = "11111111-2222-3333-4444-555555555555"
	if err := s.AddClient(app, ""); err != nil {
		t.Fatal(err)
	}
	tokenOf := func(clientID string) string {
		st, r := postToken(t, s, s.TenantID, url.Values{"grant_type": {"password"}, "client_id": {clientID},
			"username": {s.User}, "password": {s.Password}, "scope": {ResourceID + "/.default openid offline_access profile"}})
		if st != 200 {
			t.Fatalf("sign-in with %s: %d %+v", clientID, st, r)
		}
		return r.AccessToken
	}
	// Through the control API, as another language would.
	st, _, b := do(t, s.Client(), "POST", s.URL+"/_emulator/clients/pat-scopes", "", `{"clientId":"`+DefaultClientID+`","granted":false}`)
	if st != 200 {
		t.Fatalf("control: %d %s", st, b)
	}
	if st, _, _ := do(t, s.Client(), "POST", s.URL+"/_emulator/clients/pat-scopes", "", `{"clientId":"`+newGUID()+`","granted":false}`); st != http.StatusNotFound {
		t.Errorf("unknown client: %d", st)
	}
	denied, own := tokenOf(DefaultClientID), tokenOf(app)
	pats := s.URL + "/" + s.Org + "/_apis/tokens/pats?api-version=" + APIVersion
	post := func(tok string) int {
		req, _ := http.NewRequest("POST", pats, strings.NewReader(`{"displayName":"d","scope":"vso.code"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-TFS-FedAuthRedirect", "Suppress")
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post(denied); st != http.StatusUnauthorized {
		t.Errorf("client without the PAT scopes: %d", st)
	}
	if st := post(own); st != http.StatusOK {
		t.Errorf("own app: %d", st)
	}
	// Its token still works for git and the organisation.
	if st, _, _ := do(t, s.Client(), "GET", s.URL+"/"+s.Org, "Basic "+basic("x", denied), ""); st != 200 {
		t.Errorf("org with the token of a client without the PAT scopes: %d", st)
	}
	// And the Go API gives them back.
	if err := s.SetPATScopes(DefaultClientID, true); err != nil {
		t.Fatal(err)
	}
	if st := post(denied); st != http.StatusOK {
		t.Errorf("after SetPATScopes(true): %d", st)
	}
}
