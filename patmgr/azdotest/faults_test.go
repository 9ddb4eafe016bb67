package azdotest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	s := newTestServer(t, Options{})
	api := patAPI{t, s, s.Org, userToken(t, s, s.User, s.Password, "")}
	list := api.url("")
	get := func(c *http.Client) (*http.Response, []byte, error) {
		req, _ := http.NewRequest("GET", list, nil)
		req.Header.Set("Authorization", "Bearer "+api.token)
		resp, err := c.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	c := s.Client()

	// status with Retry-After, twice, then normal again.
	if err := s.InjectFault(Fault{Endpoint: "pats.list", Kind: FaultStatus, Status: 429, RetryAfter: 1500 * time.Millisecond, Count: 2}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		resp, _, err := get(c)
		if err != nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
			t.Fatalf("429 fault #%d: %v %v", i, err, resp)
		}
	}
	if resp, _, err := get(c); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after fault: %v %v", err, resp)
	}
	for _, code := range []int{500, 503} {
		_ = s.InjectFault(Fault{Endpoint: "pats.list", Kind: FaultStatus, Status: code})
		if resp, _, _ := get(c); resp.StatusCode != code {
			t.Errorf("status %d fault: %d", code, resp.StatusCode)
		}
	}

	// html203.
	_ = s.InjectFault(Fault{Endpoint: "pats.list", Kind: FaultHTML203})
	resp, body, err := get(c)
	if err != nil || resp.StatusCode != 203 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || json.Valid(body) {
		t.Errorf("html203: %v %v", err, resp)
	}

	// delay beyond the client's timeout.
	_ = s.InjectFault(Fault{Endpoint: "pats.list", Kind: FaultDelay, Delay: 2 * time.Second})
	impatient := s.Client()
	impatient.Timeout = 200 * time.Millisecond
	// The client's timeout ends the request: the delayed answer would have succeeded.
	if _, _, err := get(impatient); err == nil || !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("delay: err = %v", err)
	}
	// A short delay is just slow.
	_ = s.InjectFault(Fault{Endpoint: "pats.list", Kind: FaultDelay, Delay: 100 * time.Millisecond})
	start := time.Now()
	if resp, _, err := get(c); err != nil || resp.StatusCode != 200 || time.Since(start) < 100*time.Millisecond {
		t.Errorf("short delay: %v %v", err, resp)
	}

	// truncate: a clean response whose JSON is cut short.
	_, _ = api.create("one", "vso.code", s.Now().Add(time.Hour))
	_ = s.InjectFault(Fault{Endpoint: "pats.list", Kind: FaultTruncate})
	resp, body, err = get(c)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("truncate: %v %v", err, resp)
	}
	var l patList
	if err := json.Unmarshal(body, &l); err == nil {
		t.Errorf("truncated body decoded: %s", body)
	}
	if !strings.HasPrefix(string(body), `{"continuationToken"`) {
		t.Errorf("truncated body does not start validly: %s", body)
	}

	// drop: the connection closes without a reply. Go's transport replays
	// an idempotent request once when a reused connection dies, so a GET
	// needs two drops to surface; a POST fails at the first.
	_ = s.InjectFault(Fault{Endpoint: "pats.list", Kind: FaultDrop, Count: 2})
	if _, _, err := get(c); err == nil {
		t.Error("drop: no transport error")
	}
	_ = s.InjectFault(Fault{Endpoint: "pats.create", Kind: FaultDrop})
	req, _ := http.NewRequest("POST", list, strings.NewReader(`{"displayName":"d","scope":"vso.code"}`))
	req.Header.Set("Authorization", "Bearer "+api.token)
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("drop on create: %d", resp.StatusCode)
	}

	// Faults on token endpoint reach MSAL-style clients too.
	_ = s.InjectFault(Fault{Endpoint: "token", Kind: FaultStatus, Status: 503})
	if st, _ := postToken(t, s, s.TenantID, nil); st != 503 {
		t.Errorf("token fault: %d", st)
	}

	// paterror: the PAT API's own refusal, with 200 unless told otherwise.
	if err := s.InjectFault(Fault{Endpoint: "pats.list", Kind: FaultPATError, Code: "failedToReadTenantPolicy"}); err != nil {
		t.Fatal(err)
	}
	resp, body, err = get(c)
	var refusal struct{ PatTokenError string }
	if err != nil || resp.StatusCode != 200 || json.Unmarshal(body, &refusal) != nil || refusal.PatTokenError != "failedToReadTenantPolicy" {
		t.Errorf("paterror: %v %v %s", err, resp, body)
	}
	for _, bad := range []Fault{
		{Endpoint: "token", Kind: FaultPATError, Code: "x"},
		{Endpoint: "pats.create", Kind: FaultPATError},
		{Endpoint: "pats.create", Kind: FaultPATError, Code: "x", Status: 99},
		{Endpoint: "pats.list", Kind: FaultTamper, Set: map[string]any{"token": "x"}}, // answers patTokens
		{Endpoint: "pats.create", Kind: FaultTamper},
	} {
		if err := s.InjectFault(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}

	// tamper: the real create happens, its answer carries the fields set, whatever their type,
	// with the real status and headers; an answer that is not JSON (a refused token's sign-in
	// page) goes out as it is.
	create := func(token string) (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", list, strings.NewReader(`{"displayName":"t","scope":"vso.code"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	tamper := Fault{Endpoint: "pats.create", Kind: FaultTamper, Set: map[string]any{"token": "line\nbreak", "validTo": 7}, Count: 2}
	if err := s.InjectFault(tamper); err != nil {
		t.Fatal(err)
	}
	created := s.Counters().PATsCreated
	resp, body = create(api.token)
	var tampered struct{ PatToken map[string]any }
	if err := json.Unmarshal(body, &tampered); err != nil || resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
		tampered.PatToken["token"] != "line\nbreak" || tampered.PatToken["validTo"] != 7.0 || tampered.PatToken["authorizationId"] == nil || s.Counters().PATsCreated != created+1 {
		t.Errorf("tamper: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	if resp, body = create("not-a-token"); resp.StatusCode != http.StatusNonAuthoritativeInfo || !strings.Contains(string(body), "<html") {
		t.Errorf("tamper of a sign-in page: %d %s", resp.StatusCode, body)
	}

	if err := s.InjectFault(Fault{Endpoint: "nope", Kind: FaultDrop}); err == nil {
		t.Error("unknown endpoint accepted")
	}
	if err := s.InjectFault(Fault{Endpoint: "git", Kind: "explode"}); err == nil {
		t.Error("unknown kind accepted")
	}
	if n := s.Counters().Requests["pats.list"]; n != 12 {
		t.Errorf("pats.list counted %d, want 12", n)
	}
}

// TestControlAPI drives the emulator over HTTP only, as a script would.
func TestControlAPI(t *testing.T) {
	s := newTestServer(t, Options{})
	c := s.Client()
	ctl := func(method, path, body string, wantStatus int) map[string]any {
		t.Helper()
		st, _, b := do(t, c, method, s.URL+"/_emulator/"+path, "", body)
		if st != wantStatus {
			t.Fatalf("%s %s: %d %s", method, path, st, b)
		}
		var v map[string]any
		if len(b) > 0 && b[0] == '{' {
			decodeJSON(t, b, &v)
		}
		return v
	}
	info := ctl("GET", "info", "", 200)
	if info["url"] != s.URL || info["tenantId"] != s.TenantID || info["repoUrl"] != s.RepoURL {
		t.Errorf("info %v", info)
	}
	tid := ctl("POST", "tenants", `{"domain":"fabrikam.example"}`, 200)["tenantId"].(string)
	ctl("POST", "orgs", `{"name":"fabrikam","tenantId":"`+tid+`"}`, 200)
	ctl("POST", "orgs", `{"name":"fabrikam","tenantId":"`+tid+`"}`, 409)
	ctl("POST", "users", `{"upn":"carol@fabrikam.example","password":"pw","tenantId":"`+tid+`","orgs":["fabrikam"]}`, 200)
	ctl("POST", "repos", `{"org":"fabrikam","project":"p","repo":"r"}`, 200)
	ctl("POST", "clients", `{"clientId":"12345678-1234-1234-1234-123456789abc"}`, 200)
	ctl("PUT", "orgs/fabrikam/policy", `{"disablePatCreation":false,"restrictFullScope":true,"maxLifespan":"720h"}`, 200)
	ctl("PUT", "orgs/nosuch/policy", `{}`, 404)

	// carol can sign in to her tenant and create a PAT, clamped to 30 days.
	st, r := postTokenForm(t, s, tid, "carol@fabrikam.example", "pw")
	if st != 200 {
		t.Fatalf("carol sign-in: %d", st)
	}
	api := patAPI{t, s, "fabrikam", r}
	st2, pr := api.create("c", "vso.code", s.Now().Add(365*24*time.Hour))
	if st2 != 200 {
		t.Fatalf("create: %d %+v", st2, pr)
	}
	if st2, pr2 := api.create("c", "app_token", s.Now().Add(time.Hour)); st2 != 400 || pr2.PatTokenError != "fullScopePatPolicyViolation" {
		t.Errorf("policy via control: %d %+v", st2, pr2)
	}
	// alice is not a member of fabrikam.
	alice := userToken(t, s, s.User, s.Password, "")
	if st, _, _ := do(t, c, "GET", s.URL+"/fabrikam", "Bearer "+alice, ""); st != 401 {
		t.Errorf("non-member on org: %d", st)
	}
	if st, _, _ := do(t, c, "GET", s.URL+"/fabrikam", "Bearer "+r, ""); st != 200 {
		t.Errorf("member on org: %d", st)
	}

	st3, _, b := do(t, c, "GET", s.URL+"/_emulator/pats", "", "")
	var pats []PATInfo
	decodeJSON(t, b, &pats)
	if st3 != 200 || len(pats) != 1 || pats[0].Status != "active" || strings.Contains(string(b), "token") {
		t.Errorf("pats: %d %s", st3, b)
	}
	ctl("POST", "pats/revoke", `{"authorizationId":"`+pats[0].AuthorizationID+`"}`, 200)
	ctl("POST", "pats/revoke", `{"authorizationId":"`+newGUID()+`"}`, 404)
	before := s.Now()
	now := ctl("POST", "clock/advance", `{"duration":"48h"}`, 200)["now"].(string)
	if got, _ := time.Parse(time.RFC3339Nano, now); got.Sub(before) < 48*time.Hour {
		t.Errorf("clock %s", now)
	}
	ctl("POST", "clock/advance", `{"duration":60}`, 200)
	ctl("POST", "faults", `{"endpoint":"org","kind":"status","status":429,"retryAfter":"3s","count":1}`, 200)
	if st, h, _ := do(t, c, "GET", s.URL+"/"+s.Org, "", ""); st != 429 || h.Get("Retry-After") != "3" {
		t.Errorf("fault via control: %d %v", st, h)
	}
	ctl("POST", "faults", `{"endpoint":"org","kind":"bogus"}`, 400)
	ctl("POST", "faults", `{"endpoint":"org","kind":"drop","count":5}`, 200)
	ctl("POST", "faults", `{"endpoint":"pats.create","kind":"paterror","code":"failedToReadTenantPolicy"}`, 200)
	ctl("POST", "faults", `{"endpoint":"pats.create","kind":"paterror"}`, 400)
	ctl("DELETE", "faults", "", 200)
	if st, _, _ := do(t, c, "GET", s.URL+"/"+s.Org, "", ""); st != 401 {
		t.Errorf("after clearing faults: %d", st)
	}
	ctl("POST", "sessions/revoke", `{"upn":"carol@fabrikam.example"}`, 200)
	counters := ctl("GET", "counters", "", 200)
	if counters["patsCreated"].(float64) != 1 || counters["patsRevoked"].(float64) != 1 || counters["requests"].(map[string]any)["org"].(float64) != 4 {
		t.Errorf("counters %v", counters)
	}
	ctl("GET", "nosuch", "", 404)
}

// postTokenForm signs in with the password grant in a given tenant.
func postTokenForm(t *testing.T, s *Server, tenant, upn, pw string) (int, string) {
	t.Helper()
	st, r := postToken(t, s, tenant, map[string][]string{"grant_type": {"password"}, "client_id": {DefaultClientID},
		"username": {upn}, "password": {pw}, "scope": {ResourceID + "/.default"}})
	return st, r.AccessToken
}
