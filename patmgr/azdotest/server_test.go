package azdotest

import (
	"net/http"
	"os"
	"strings"
	"testing"
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
	// Anonymous org probe: 401 with the tenant in both headers.
	st, h, _ := do(t, s.Client(), "GET", s.URL+"/"+s.Org, "", "")
	if st != http.StatusUnauthorized {
		t.Fatalf("status %d", st)
	}
	if got := h.Get("X-VSS-ResourceTenant"); got != s.TenantID {
		t.Errorf("X-VSS-ResourceTenant = %q", got)
	}
	www := h.Values("WWW-Authenticate")
	if len(www) != 2 || www[0] != "Bearer authorization_uri="+s.URL+"/"+s.TenantID || www[1] != `Basic realm="`+s.URL+`/"` {
		t.Errorf("WWW-Authenticate = %q", www)
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
