package azdo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
)

func TestDiscoverTenantReadsTheRealHeaders(t *testing.T) {
	const (
		t1 = "72f988bf-86f1-41af-91ab-2d7cd011db47"
		t2 = "b1c2d3e4-0000-4000-8000-0123456789ab"
	)
	basic := `Basic realm="https://dev.azure.com/"`
	for _, tc := range []struct {
		name       string
		challenges []string
		resource   []string
		want       string
	}{
		{"the Bearer challenge first", []string{"Bearer authorization_uri=https://login.microsoftonline.com/" + t1, basic}, []string{t2}, t1},
		{"a sovereign cloud", []string{`Bearer authorization_uri="https://login.partner.microsoftonline.cn/` + t1 + `"`}, nil, t1},
		{"the configured authority", []string{"Bearer authorization_uri=https://login.example.test/" + t1}, nil, t1},
		{"an untrusted host is passed over", []string{"Bearer authorization_uri=https://evil.example/" + t1, basic}, []string{t2}, t2},
		{"the first non-zero resource tenant", []string{basic}, []string{zeroGUID + ", " + t2 + "," + t1}, t2},
		{"in separate headers", []string{basic}, []string{zeroGUID, t2}, t2},
		{"all zeros: Microsoft accounts", []string{basic}, []string{zeroGUID}, config.TenantOrganizations},
		{"only Basic: Microsoft accounts", []string{basic}, nil, config.TenantOrganizations},
		{"nothing", nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for _, c := range tc.challenges {
					w.Header().Add("WWW-Authenticate", c)
				}
				for _, v := range tc.resource {
					w.Header().Add("X-VSS-ResourceTenant", v)
				}
				w.WriteHeader(http.StatusUnauthorized)
			}))
			defer srv.Close()
			got, err := discoverTenant(context.Background(), srv.Client().Do, srv.URL+"/org", "https://login.example.test")
			if tc.want == "" {
				if err == nil {
					t.Fatalf("named %q", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestBearerParams(t *testing.T) {
	p := bearerParams(`Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhIjoxfQ=="`)
	if p["authorization_uri"] != "https://login.microsoftonline.com/common/oauth2/authorize" || p["error"] != "insufficient_claims" || p["claims"] != "eyJhIjoxfQ==" {
		t.Fatalf("%v", p)
	}
	if p := bearerParams(`Basic realm="x"`); p != nil {
		t.Fatalf("a Basic challenge read as Bearer: %v", p)
	}
	if got := ClaimsFromChallenges([]string{`Basic realm="x"`, `Bearer error="insufficient_claims", claims="eyJhIjoxfQ=="`}); got != `{"a":1}` {
		t.Fatalf("claims %q", got)
	}
	if got := ClaimsFromChallenges([]string{`Bearer error="invalid_token", claims="eyJhIjoxfQ=="`}); got != "" {
		t.Fatalf("claims of another error: %q", got)
	}
}

// Only the organisation's own challenge names its tenant: one with an error does not, whatever
// URI it carries.
func TestTenantFromChallengeOnlyWithoutAnError(t *testing.T) {
	const authority = "https://login.microsoftonline.com"
	if got, ok := TenantFromChallenge(`Bearer authorization_uri=https://login.microsoftonline.com/b7b4a3a2-4c5f-4e2a-9f35-0a1b2c3d4e5f`, authority); !ok || got != "b7b4a3a2-4c5f-4e2a-9f35-0a1b2c3d4e5f" {
		t.Fatalf("the organisation's challenge: %q, %v", got, ok)
	}
	for _, c := range []string{
		`Bearer realm="", authorization_uri="https://login.microsoftonline.com/common", error="insufficient_claims", claims="e30="`,
		`Bearer authorization_uri="https://login.microsoftonline.com/b7b4a3a2-4c5f-4e2a-9f35-0a1b2c3d4e5f", error="invalid_token"`,
	} {
		if got, ok := TenantFromChallenge(c, authority); ok {
			t.Errorf("%s named tenant %q", c, got)
		}
	}
}
