package azdo

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
)

// spec72Errors is the patTokenError enum of specification/tokens/7.2/tokens.json, and the two
// codes the service sends besides.
var spec72Errors = []string{
	"displayNameRequired", "invalidDisplayName", "invalidValidTo", "invalidScope", "userIdRequired", "invalidUserId",
	"invalidUserType", "accessDenied", "failedToIssueAccessToken", "invalidClient", "invalidClientType", "invalidClientId",
	"invalidTargetAccounts", "hostAuthorizationNotFound", "authorizationNotFound", "failedToUpdateAccessToken",
	"sourceNotSupported", "invalidSourceIP", "invalidSource", "duplicateHash", "sshPolicyDisabled", "invalidToken",
	"tokenNotFound", "invalidAuthorizationId", "failedToReadTenantPolicy", "globalPatPolicyViolation",
	"fullScopePatPolicyViolation", "patLifespanPolicyViolation", "invalidTokenType", "invalidAudience", "invalidSubject",
	"deploymentHostNotSupported", "disablePatCreationPolicyViolation", "failedToReadOrgPolicy",
	"globalPATCreationBlocked", "expiredPatCannotBeExtended",
}

func TestEveryPATTokenErrorIsSorted(t *testing.T) {
	for _, code := range spec72Errors {
		if _, ok := refusals[code]; !ok {
			t.Errorf("%s is not sorted into a refusal kind", code)
		}
	}
	if len(refusals) != len(spec72Errors) {
		t.Errorf("%d codes sorted, the spec has %d", len(refusals), len(spec72Errors))
	}
}

// The emulator, which answers only the version it knows, speaks the one of the 7.2 spec.
func TestPATAPIVersionIs72(t *testing.T) {
	if patAPIVersion != azdotest.APIVersion72 {
		t.Fatalf("api-version %s, the emulator's is %s", patAPIVersion, azdotest.APIVersion72)
	}
}

// The service's timestamps carry up to seven fraction digits, trailing zeros dropped.
func TestPATTimestampsParse(t *testing.T) {
	for raw, want := range map[string]time.Time{
		"2026-12-06T01:02:03Z":         time.Date(2026, 12, 6, 1, 2, 3, 0, time.UTC),
		"2026-12-06T01:02:03.12345Z":   time.Date(2026, 12, 6, 1, 2, 3, 123450000, time.UTC),
		"2026-12-06T01:02:03.1234567Z": time.Date(2026, 12, 6, 1, 2, 3, 123456700, time.UTC),
	} {
		var env patEnvelope
		if err := json.Unmarshal([]byte(`{"patToken":{"authorizationId":"a","validFrom":"`+raw+`","validTo":"`+raw+`"},"patTokenError":"none"}`), &env); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if !env.PatToken.ValidTo.Equal(want) || !env.PatToken.ValidFrom.Equal(want) {
			t.Errorf("%s read as %s", raw, env.PatToken.ValidTo)
		}
	}
}

// A PAT API answer that redirects to a sign-in page is a refusal: the client sends the header
// that asks for a 401 instead, follows no redirect and so carries the token nowhere.
func TestSignInRedirectIsNotFollowed(t *testing.T) {
	var signIn, service atomic.Int64
	var suppressed atomic.Bool
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { signIn.Add(1) }))
	t.Cleanup(other.Close)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		service.Add(1)
		suppressed.Store(r.Header.Get("X-TFS-FedAuthRedirect") == "Suppress")
		http.Redirect(w, r, other.URL+"/_signin?realm=x", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	_, err := clientTrusting(t, srv).ListPATs(context.Background(), "contoso", "secret-token", "active")
	if !errors.Is(err, errNotAuthenticated) || !TokenRefused(err) {
		t.Fatalf("list answered by a redirect: %v, want a refused token", err)
	}
	if !suppressed.Load() || service.Load() != 1 || signIn.Load() != 0 {
		t.Fatalf("header sent %v, %d requests to the service, %d to the sign-in host; want the header, 1 and 0",
			suppressed.Load(), service.Load(), signIn.Load())
	}
}
