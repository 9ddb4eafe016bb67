package azdotest

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestStartAndDiscovery(t *testing.T) {
	s := newTestServer(t, Options{})
	if !strings.HasPrefix(s.URL, "https://127.0.0.1:") {
		t.Fatalf("URL = %q", s.URL)
	}
	pem, err := os.ReadFile(s.CAFile)
	if err != nil || !strings.Contains(string(pem), "BEGIN CERTIFICATE") {
		t.Fatalf("CA file: %v %q", err, pem)
	}
	// Anonymous org probe: 401 with the tenant in both headers, and the three challenges of an
	// organisation backed by Entra ID.
	st, h, _ := do(t, s.Client(), "GET", s.URL+"/"+s.Org, "", "")
	if st != http.StatusUnauthorized {
		t.Fatalf("status %d", st)
	}
	if got := h.Get("X-VSS-ResourceTenant"); got != s.TenantID {
		t.Errorf("X-VSS-ResourceTenant = %q", got)
	}
	www := h.Values("WWW-Authenticate")
	if len(www) != 3 || www[0] != "Bearer authorization_uri="+s.URL+"/"+s.TenantID || www[1] != `Basic realm="`+s.URL+`/"` || www[2] != "TFS-Federated" {
		t.Errorf("WWW-Authenticate = %q", www)
	}
	// An organisation backed by Microsoft accounts names no tenant, and offers Basic alone.
	if err := s.AddOrg("personal", MicrosoftAccounts); err != nil {
		t.Fatal(err)
	}
	st, h, _ = do(t, s.Client(), "GET", s.URL+"/personal", "", "")
	if www := h.Values("WWW-Authenticate"); st != http.StatusUnauthorized || len(www) != 1 || www[0] != `Basic realm="`+s.URL+`/"` ||
		h.Get("X-VSS-ResourceTenant") != MicrosoftAccounts {
		t.Errorf("organisation of Microsoft accounts: %d %q", st, h)
	}
	// A client that does not trust the CA must fail: nothing is switched off.
	if _, err := http.Get(s.URL + "/" + s.Org); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusting client: err = %v", err)
	}
	// Unknown org.
	if st, _, _ := do(t, s.Client(), "GET", s.URL+"/nosuchorg", "", ""); st != http.StatusNotFound {
		t.Errorf("unknown org: %d", st)
	}
	// gitconfig content.
	cfg, err := os.ReadFile(s.GitConfig)
	if err != nil {
		t.Fatal(err)
	}
	want := "[http \"" + s.URL + "/\"]\n\tsslCAInfo = " + s.CAFile + "\n[credential \"" + s.URL + "\"]\n\tuseHttpPath = true\n\thelper =\n\thelper = azdo --service-url=" + s.URL + " --authority=" + s.URL + " --ca-file=" + s.CAFile + "\n"
	if string(cfg) != want {
		t.Errorf("gitconfig:\n%s\nwant:\n%s", cfg, want)
	}
	// Closing twice is fine; the temp dir given by the test stays.
	s.Close()
	s.Close()
}

func TestProfileAndAccounts(t *testing.T) {
	s := newTestServer(t, Options{})
	tid, _ := s.AddTenant("", "")
	if err := s.AddOrg("zeta", s.TenantID); err != nil {
		t.Fatal(err)
	}
	if err := s.AddOrg("elsewhere", tid); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUser(s.User, "", s.TenantID, "zeta"); err != nil {
		t.Fatal(err)
	}
	tok := "Bearer " + userToken(t, s, s.User, s.Password, "")
	c := s.Client()
	st, _, b := do(t, c, "GET", s.URL+"/_apis/profile/profiles/me?api-version=7.1", tok, "")
	var p struct{ ID, DisplayName, EmailAddress, PublicAlias string }
	decodeJSON(t, b, &p)
	if st != 200 || p.ID == "" || p.EmailAddress != s.User || p.DisplayName == "" || p.PublicAlias == "" {
		t.Fatalf("profile: %d %s", st, b)
	}
	st, _, b = do(t, c, "GET", s.URL+"/_apis/accounts?api-version=7.1&memberId="+p.ID, tok, "")
	var a struct {
		Count int
		Value []struct{ AccountID, AccountURI, AccountName string }
	}
	decodeJSON(t, b, &a)
	if st != 200 || a.Count != 2 || len(a.Value) != 2 || a.Value[0].AccountName != "contoso" || a.Value[1].AccountName != "zeta" ||
		a.Value[0].AccountURI != s.URL+"/contoso/" || !isGUID(a.Value[0].AccountID) {
		t.Errorf("accounts: %d %s", st, b)
	}
	if st, _, _ := do(t, c, "GET", s.URL+"/_apis/accounts?api-version=7.1", tok, ""); st != 400 {
		t.Errorf("accounts without memberId: %d", st)
	}
	for _, path := range []string{"/_apis/profile/profiles/me", "/_apis/accounts?memberId=" + p.ID, "/_apis/profile/profiles/me?api-version=5.0"} {
		if st, _, b := do(t, c, "GET", s.URL+path, tok, ""); st != 400 || !strings.Contains(string(b), "VssVersionNotSupportedException") {
			t.Errorf("%s without the api-version clients call: %d %s", path, st, b)
		}
	}
	if st, _, _ := do(t, c, "GET", s.URL+"/_apis/accounts?api-version=7.1&memberId="+newGUID(), tok, ""); st != 403 {
		t.Errorf("someone else's accounts: %d", st)
	}
	for _, path := range []string{"/_apis/profile/profiles/me?api-version=7.1", "/_apis/accounts?api-version=7.1&memberId=" + p.ID} {
		if st, h, _ := do(t, c, "GET", s.URL+path, "", ""); st != 203 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("%s anonymous: %d", path, st)
		}
	}
	// An authenticated member gets the org page; the org endpoint also
	// takes a PAT as Basic password.
	if st, _, _ := do(t, c, "GET", s.URL+"/"+s.Org, tok, ""); st != 200 {
		t.Errorf("org with token: %d", st)
	}
	_, secret := createPAT(t, s, "vso.code", time.Hour)
	if st, _, _ := do(t, c, "GET", s.URL+"/"+s.Org, "Basic "+basic("x", secret), ""); st != 200 {
		t.Errorf("org with PAT: %d", st)
	}
	if st, _, _ := do(t, c, "GET", s.URL+"/zeta", "Basic "+basic("x", secret), ""); st != 401 {
		t.Errorf("PAT on another org: %d", st)
	}
	c2 := s.Counters()
	if c2.Requests["profile"] != 4 || c2.Requests["accounts"] != 5 || c2.Requests["org"] != 3 {
		t.Errorf("counters %+v", c2.Requests)
	}
}
