package azdotest

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// userToken signs a user in with the password grant and returns an access
// token for scope (default: Azure DevOps).
func userToken(t *testing.T, s *Server, upn, password, scope string) string {
	t.Helper()
	if scope == "" {
		scope = ResourceID + "/.default openid offline_access profile"
	}
	st, r := postToken(t, s, s.TenantID, url.Values{"grant_type": {"password"}, "client_id": {DefaultClientID},
		"username": {upn}, "password": {password}, "scope": {scope}})
	if st != 200 || r.AccessToken == "" {
		t.Fatalf("password grant for %s: %d %+v", upn, st, r)
	}
	return r.AccessToken
}

type patToken struct {
	DisplayName     string   `json:"displayName"`
	ValidTo         string   `json:"validTo"`
	Scope           string   `json:"scope"`
	TargetAccounts  []string `json:"targetAccounts"`
	ValidFrom       string   `json:"validFrom"`
	AuthorizationID string   `json:"authorizationId"`
	Token           *string  `json:"token"`
}

type patResult struct {
	PatToken             *patToken `json:"patToken"`
	PatTokenError        string    `json:"patTokenError"`
	PatTokenErrorMessage string    `json:"patTokenErrorMessage"`
}

type patList struct {
	ContinuationToken string     `json:"continuationToken"`
	PatTokens         []patToken `json:"patTokens"`
}

// patAPI is a small client of the PAT API for one user and org.
type patAPI struct {
	t     *testing.T
	s     *Server
	org   string
	token string
}

func (a patAPI) url(query string) string {
	u := a.s.URL + "/" + a.org + "/_apis/tokens/pats?api-version=" + APIVersion
	if query != "" {
		u += "&" + query
	}
	return u
}

func (a patAPI) call(method, query, body string, out any) int {
	a.t.Helper()
	st, h, b := do(a.t, a.s.Client(), method, a.url(query), "Bearer "+a.token, body)
	if out != nil && st != http.StatusNoContent {
		if !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			a.t.Fatalf("%s %s: %d %s: %s", method, query, st, h.Get("Content-Type"), b)
		}
		decodeJSON(a.t, b, out)
	}
	return st
}

func (a patAPI) create(name, scope string, validTo time.Time) (int, patResult) {
	var r patResult
	body := fmt.Sprintf(`{"displayName":%q,"scope":%q,"validTo":%q,"allOrgs":false}`, name, scope, validTo.Format(time.RFC3339))
	return a.call("POST", "", body, &r), r
}

// ts7 is the service's timestamp: up to 7 fraction digits, trailing zeros dropped.
var ts7 = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,6}[1-9])?Z$`)

func TestPATLifecycle(t *testing.T) {
	s := newTestServer(t, Options{})
	api := patAPI{t, s, s.Org, userToken(t, s, s.User, s.Password, "")}
	validTo := s.Now().Add(7 * 24 * time.Hour)
	st, r := api.create("git: demo", "vso.code_write", validTo)
	if st != 200 || r.PatTokenError != "none" || r.PatToken == nil || r.PatToken.Token == nil || !patFormat.MatchString(*r.PatToken.Token) {
		t.Fatalf("create: %d %+v", st, r)
	}
	p := *r.PatToken
	if !ts7.MatchString(p.ValidTo) || !ts7.MatchString(p.ValidFrom) {
		t.Errorf("timestamps %q %q", p.ValidFrom, p.ValidTo)
	}
	if got, _ := time.Parse(time.RFC3339Nano, p.ValidTo); !got.Equal(validTo.Truncate(time.Second)) {
		t.Errorf("validTo %s, want %s", p.ValidTo, validTo)
	}
	s.mu.Lock()
	orgID := s.st.orgs["contoso"].id
	s.mu.Unlock()
	if len(p.TargetAccounts) != 1 || p.TargetAccounts[0] != orgID || p.Scope != "vso.code_write" || p.DisplayName != "git: demo" {
		t.Errorf("pat %+v", p)
	}

	// Get: no secret any more.
	var g patResult
	if st := api.call("GET", "authorizationId="+p.AuthorizationID, "", &g); st != 200 || g.PatToken == nil || g.PatToken.Token != nil || g.PatToken.AuthorizationID != p.AuthorizationID {
		t.Errorf("get: %d %+v", st, g)
	}
	// Raw JSON really carries "token":null.
	if _, _, b := do(t, s.Client(), "GET", api.url("authorizationId="+p.AuthorizationID), "Bearer "+api.token, ""); !strings.Contains(string(b), `"token":null`) {
		t.Errorf("get body %s", b)
	}
	// Any casing of the path.
	if st, _, _ := do(t, s.Client(), "GET", s.URL+"/"+s.Org+"/_apis/Tokens/Pats?api-version="+APIVersion, "Bearer "+api.token, ""); st != 200 {
		t.Errorf("_apis/Tokens/Pats: %d", st)
	}

	// Update: renew and rename.
	newTo := s.Now().Add(30 * 24 * time.Hour)
	var u patResult
	body := fmt.Sprintf(`{"authorizationId":%q,"displayName":"renamed","validTo":%q}`, p.AuthorizationID, newTo.Format(time.RFC3339Nano))
	if st := api.call("PUT", "", body, &u); st != 200 || u.PatToken == nil || u.PatToken.DisplayName != "renamed" || u.PatToken.Token != nil || u.PatToken.Scope != "vso.code_write" {
		t.Fatalf("update: %d %+v", st, u)
	}
	if got, _ := time.Parse(time.RFC3339Nano, u.PatToken.ValidTo); !got.Equal(newTo) {
		t.Errorf("renewed validTo %s, want %s", u.PatToken.ValidTo, newTo.Format(timeLayout))
	}

	// List active, then revoke and list again.
	var l patList
	if st := api.call("GET", "", "", &l); st != 200 || len(l.PatTokens) != 1 || l.ContinuationToken != "" || l.PatTokens[0].Token != nil {
		t.Errorf("list: %d %+v", st, l)
	}
	if st := api.call("DELETE", "authorizationId="+p.AuthorizationID, "", nil); st != http.StatusNoContent {
		t.Errorf("revoke: %d", st)
	}
	l = patList{}
	api.call("GET", "", "", &l)
	if len(l.PatTokens) != 0 {
		t.Errorf("active after revoke: %+v", l)
	}
	api.call("GET", "displayFilterOption=revoked", "", &l)
	if len(l.PatTokens) != 1 {
		t.Errorf("revoked list: %+v", l)
	}
	c := s.Counters()
	if c.PATsCreated != 1 || c.PATsRenewed != 1 || c.PATsRevoked != 1 || c.Requests["pats.create"] != 1 || c.Requests["pats.update"] != 1 || c.Requests["pats.revoke"] != 1 || c.Requests["pats.get"] != 2 || c.Requests["pats.list"] != 4 {
		t.Errorf("counters %+v", c)
	}
	if infos := s.PATs(); len(infos) != 1 || infos[0].Status != "revoked" || infos[0].User != s.User {
		t.Errorf("PATs() %+v", infos)
	}

	// PATs are per user: another member sees none of alice's.
	if err := s.AddUser("bob@contoso.example", "pw", s.TenantID, s.Org); err != nil {
		t.Fatal(err)
	}
	bob := patAPI{t, s, s.Org, userToken(t, s, "bob@contoso.example", "pw", "")}
	var bl patList
	bob.call("GET", "displayFilterOption=all", "", &bl)
	var bg patResult
	if len(bl.PatTokens) != 0 || bob.call("GET", "authorizationId="+p.AuthorizationID, "", &bg) != 404 || bg.PatTokenError != "authorizationNotFound" {
		t.Errorf("bob sees alice's PATs: %+v %+v", bl, bg)
	}
}

func TestPATAuthFailures(t *testing.T) {
	s := newTestServer(t, Options{})
	good := userToken(t, s, s.User, s.Password, "")
	graph := userToken(t, s, s.User, s.Password, "https://graph.microsoft.com/.default openid profile offline_access")
	api := patAPI{t, s, s.Org, good}
	_, created := api.create("x", "vso.code", s.Now().Add(time.Hour))
	secret := *created.PatToken.Token

	url := api.url("")
	for name, auth := range map[string]string{
		"missing":        "",
		"garbage":        "Bearer not-a-token",
		"wrong audience": "Bearer " + graph,
		"PAT as basic":   "Basic " + basic("x", secret),
		"forged claims":  "Bearer " + forge(good),
	} {
		st, h, b := do(t, s.Client(), "POST", url, auth, `{"displayName":"d","scope":"vso.code"}`)
		if st != http.StatusNonAuthoritativeInfo || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(string(b), "<html") {
			t.Errorf("%s: %d %s", name, st, h.Get("Content-Type"))
		}
	}
	// Wrong or missing api-version.
	for _, v := range []string{"", "&api-version=7.1", "&api-version=7.0-preview.1"} {
		st, _, b := do(t, s.Client(), "GET", s.URL+"/"+s.Org+"/_apis/tokens/pats?x=1"+v, "Bearer "+good, "")
		if st != 400 || !strings.Contains(string(b), `"message"`) {
			t.Errorf("api-version %q: %d %s", v, st, b)
		}
	}
	// A non-member's valid token.
	other, _ := s.AddTenant("", "fabrikam.example")
	if err := s.AddOrg("fabrikam", other); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := do(t, s.Client(), "GET", s.URL+"/fabrikam/_apis/tokens/pats?api-version="+APIVersion, "Bearer "+good, ""); st != http.StatusUnauthorized {
		t.Errorf("non-member: %d", st)
	}
	// Expired token.
	s.Advance(2 * time.Hour)
	if st, _, _ := do(t, s.Client(), "POST", url, "Bearer "+good, `{"displayName":"d","scope":"vso.code"}`); st != http.StatusNonAuthoritativeInfo {
		t.Errorf("expired token: %d", st)
	}
}

// forge returns a token with the same claims but a different signature:
// the server must not accept what it did not issue.
func forge(tok string) string {
	parts := strings.Split(tok, ".")
	return parts[0] + "." + parts[1] + ".Zm9yZ2Vk"
}

func TestPATErrors(t *testing.T) {
	s := newTestServer(t, Options{})
	api := patAPI{t, s, s.Org, userToken(t, s, s.User, s.Password, "")}
	future := s.Now().Add(24 * time.Hour)
	check := func(name string, st int, r patResult, wantStatus int, wantErr string) {
		t.Helper()
		if st != wantStatus || r.PatTokenError != wantErr || r.PatToken != nil || r.PatTokenErrorMessage == "" {
			t.Errorf("%s: %d %+v, want %d %s", name, st, r, wantStatus, wantErr)
		}
	}
	st, r := api.create("past", "vso.code", s.Now().Add(-time.Minute))
	check("past validTo", st, r, 400, "invalidValidTo")
	r = patResult{}
	st = api.call("POST", "", `{"displayName":"bad","scope":"vso.code","validTo":"next tuesday"}`, &r)
	check("unparseable validTo", st, r, 400, "invalidValidTo")
	st, r = api.create("bad scope", "vso.code vso.nonsense", future)
	check("unknown scope", st, r, 400, "invalidScope")
	st, r = api.create("empty scope", "", future)
	check("empty scope", st, r, 400, "invalidScope")
	r = patResult{}
	st = api.call("POST", "", fmt.Sprintf(`{"displayName":"global","scope":"vso.code","validTo":%q,"allOrgs":true}`, future.Format(time.RFC3339)), &r)
	check("allOrgs", st, r, 400, "globalPATCreationBlocked")
	r = patResult{}
	st = api.call("GET", "authorizationId="+newGUID(), "", &r)
	check("get unknown", st, r, 404, "authorizationNotFound")
	r = patResult{}
	st = api.call("DELETE", "authorizationId="+newGUID(), "", &r)
	check("revoke unknown", st, r, 404, "authorizationNotFound")
	r = patResult{}
	st = api.call("PUT", "", fmt.Sprintf(`{"authorizationId":%q,"validTo":%q}`, newGUID(), future.Format(time.RFC3339)), &r)
	check("update unknown", st, r, 404, "authorizationNotFound")

	_, ok := api.create("short", "vso.code", s.Now().Add(time.Hour))
	s.Advance(2 * time.Hour)
	api.token = userToken(t, s, s.User, s.Password, "")
	r = patResult{}
	st = api.call("PUT", "", fmt.Sprintf(`{"authorizationId":%q,"validTo":%q}`, ok.PatToken.AuthorizationID, s.Now().Add(time.Hour).Format(time.RFC3339)), &r)
	check("extend expired", st, r, 400, "expiredPatCannotBeExtended")
	var l patList
	api.call("GET", "displayFilterOption=expired", "", &l)
	if len(l.PatTokens) != 1 {
		t.Errorf("expired list %+v", l)
	}
	if s.Counters().PATsCreated != 1 {
		t.Errorf("failed creates were counted: %+v", s.Counters())
	}
}

func TestPATPolicies(t *testing.T) {
	s := newTestServer(t, Options{})
	api := patAPI{t, s, s.Org, userToken(t, s, s.User, s.Password, "")}
	future := s.Now().Add(90 * 24 * time.Hour)

	if err := s.SetPolicy(s.Org, Policy{DisablePATCreation: true}); err != nil {
		t.Fatal(err)
	}
	if st, r := api.create("x", "vso.code", future); st != 400 || r.PatTokenError != "disablePatCreationPolicyViolation" {
		t.Errorf("disabled: %d %+v", st, r)
	}
	_ = s.SetPolicy(s.Org, Policy{RestrictFullScope: true})
	if st, r := api.create("x", "app_token", future); st != 400 || r.PatTokenError != "fullScopePatPolicyViolation" {
		t.Errorf("full scope: %d %+v", st, r)
	}
	if st, r := api.create("x", "vso.code_full", future); st != 200 {
		t.Errorf("code_full under full-scope restriction: %d %+v", st, r)
	}
	_ = s.SetPolicy(s.Org, Policy{MaxLifespan: 30 * 24 * time.Hour})
	st, r := api.create("x", "app_token", future)
	if st != 200 || r.PatTokenError != "none" {
		t.Fatalf("lifespan: %d %+v", st, r)
	}
	got, _ := time.Parse(time.RFC3339Nano, r.PatToken.ValidTo)
	if want := s.Now().Add(30 * 24 * time.Hour); got.After(want) || got.Before(want.Add(-time.Minute)) {
		t.Errorf("validTo %s not clamped to %s", r.PatToken.ValidTo, want)
	}
}

func TestPATPaging(t *testing.T) {
	s := newTestServer(t, Options{})
	api := patAPI{t, s, s.Org, userToken(t, s, s.User, s.Password, "")}
	const n = 250
	want := map[string]bool{}
	for i := 0; i < n; i++ {
		// Duplicate names on purpose: ties must not break paging.
		st, r := api.create(fmt.Sprintf("pat %d", i%7), "vso.code", s.Now().Add(time.Duration(1+i%5)*time.Hour))
		if st != 200 {
			t.Fatalf("create %d: %d %+v", i, st, r)
		}
		want[r.PatToken.AuthorizationID] = true
	}
	for _, q := range []string{"", "sortByOption=displayDate&isSortAscending=false", "sortByOption=status&$top=33", "sortByOption=displayName&$top=500"} {
		seen := map[string]int{}
		cont, pages := "", 0
		for {
			var l patList
			query := q
			if cont != "" {
				query += "&continuationToken=" + url.QueryEscape(cont)
			}
			if st := api.call("GET", query, "", &l); st != 200 {
				t.Fatalf("list %q: %d", query, st)
			}
			if len(l.PatTokens) > 100 {
				t.Fatalf("page of %d", len(l.PatTokens))
			}
			for _, p := range l.PatTokens {
				seen[p.AuthorizationID]++
			}
			pages++
			if cont = l.ContinuationToken; cont == "" {
				break
			}
		}
		if len(seen) != n {
			t.Errorf("%q: saw %d distinct PATs, want %d", q, len(seen), n)
		}
		for id, c := range seen {
			if c != 1 || !want[id] {
				t.Errorf("%q: %s seen %d times", q, id, c)
			}
		}
		t.Logf("%q: %d pages", q, pages)
	}
}
