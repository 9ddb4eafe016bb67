package patmgr

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/trace"
)

// secondOrg makes the emulator's user a member of one more organisation, which needs a PAT of its
// own and so a call to the PAT API with the cached access token.
func (e *emulated) secondOrg(t *testing.T, name string) {
	t.Helper()
	if err := e.srv.AddOrg(name, e.srv.TenantID); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.AddUser(e.srv.User, e.srv.Password, e.srv.TenantID, name); err != nil {
		t.Fatal(err)
	}
	e.target = Target{Org: name}
}

// A claims challenge from the PAT API gets a token with those claims from the refresh token, and
// the PAT is made without a new sign-in.
func TestClaimsChallengeIsAnsweredSilently(t *testing.T) {
	e := newEmulated(t, func(c *config.Config) { c.Trace = true })
	var traced bytes.Buffer
	e.stderr, e.trace = &traced, trace.New(&traced)
	e.get(t)
	if err := e.srv.ChallengeSessions(e.srv.User); err != nil {
		t.Fatal(err)
	}
	e.secondOrg(t, "fabrikam")
	before := e.srv.Counters()
	e.get(t)
	after := e.srv.Counters()
	if after.Grants["password"] != before.Grants["password"] || after.Grants["refresh_token"] != before.Grants["refresh_token"]+1 {
		t.Fatalf("grants before %v, after %v: want one refresh and no sign-in", before.Grants, after.Grants)
	}
	if after.PATsCreated != before.PATsCreated+1 {
		t.Fatalf("PATs created: %d, then %d", before.PATsCreated, after.PATsCreated)
	}
	if !strings.Contains(traced.String(), "fabrikam asks for a new token with more claims") {
		t.Fatalf("the PAT API's claims challenge was not taken for one:\n%s", traced.String())
	}
}

// After revoked sessions the refresh token cannot give the claims: the normal sign-in does.
func TestClaimsChallengeAfterRevokedSessionsSignsInAgain(t *testing.T) {
	e := newEmulated(t, nil)
	e.get(t)
	if err := e.srv.RevokeSessions(e.srv.User); err != nil {
		t.Fatal(err)
	}
	e.secondOrg(t, "fabrikam")
	before := e.srv.Counters()
	e.get(t)
	if after := e.srv.Counters(); after.Grants["password"] != before.Grants["password"]+1 {
		t.Fatalf("grants before %v, after %v: want a new sign-in", before.Grants, after.Grants)
	}
}

// When git refuses the Entra token a fallback hands out and the sessions were revoked, the next get
// signs in again instead of handing out the refused token, which MSAL would still serve.
func TestRefusedFallbackTokenAfterRevokedSessionsSignsInAgain(t *testing.T) {
	e := newEmulated(t, nil)
	if err := e.srv.SetPolicy(e.srv.Org, azdotest.Policy{DisablePATCreation: true}); err != nil {
		t.Fatal(err)
	}
	refused := e.get(t)
	if !refused.Bearer {
		t.Fatal("no fallback to the Entra token")
	}
	if err := e.srv.RevokeSessions(e.srv.User); err != nil {
		t.Fatal(err)
	}
	if err := e.Reject(context.Background(), e.target, refused.Password); err != nil {
		t.Fatal(err)
	}
	before := e.srv.Counters()
	next := e.get(t)
	if next.Password == refused.Password || e.srv.Counters().Grants["password"] != before.Grants["password"]+1 {
		t.Fatalf("after the refusal: same token %v, grants %v then %v; want a new sign-in",
			next.Password == refused.Password, before.Grants, e.srv.Counters().Grants)
	}
	// Signed in again, the fallback serves from the cache as before.
	before = e.srv.Counters()
	if again := e.get(t); again.Password != next.Password || e.srv.Counters().Grants["password"] != before.Grants["password"] {
		t.Fatal("the get after the new sign-in did not serve its token from the cache")
	}
}

// git's wwwauth[] lines may carry the claims challenge: the token in the cache is replaced first.
func TestClaimsChallengeFromGit(t *testing.T) {
	e := newEmulated(t, nil)
	e.get(t)
	if err := e.srv.ChallengeSessions(e.srv.User); err != nil {
		t.Fatal(err)
	}
	e.secondOrg(t, "fabrikam")
	e.target.Challenges = []string{`Bearer realm="", authorization_uri="` + e.srv.URL + `/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxIn19fQ=="`}
	before := e.srv.Counters()
	e.get(t)
	after := e.srv.Counters()
	// One refresh for the challenge, and the PAT API took the token it gave.
	if after.Grants["refresh_token"] != before.Grants["refresh_token"]+1 || after.Requests["pats.create"] != before.Requests["pats.create"]+1 {
		t.Fatalf("before %+v, after %+v", before, after)
	}
}

// signInError runs a first get under the emulator's refusal and returns its error, which must be
// one line.
func signInError(t *testing.T, who func(*azdotest.Server) string, aadsts int, change func(*config.Config)) string {
	t.Helper()
	e := newEmulated(t, change)
	if err := e.srv.FailSignIns(who(e.srv), aadsts); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := e.Credential(ctx, e.target)
	if err == nil {
		t.Fatal("the get succeeded")
	}
	if msg := err.Error(); strings.Contains(msg, "\n") {
		t.Fatalf("not one line: %q", msg)
	}
	return err.Error()
}

func user(s *azdotest.Server) string   { return s.User }
func tenant(s *azdotest.Server) string { return s.TenantID }

func TestEntraErrorsNameTheFix(t *testing.T) {
	for _, tc := range []struct {
		aadsts int
		who    func(*azdotest.Server) string
		device bool
		want   string
	}{
		{9002332, user, false, "AADSTS9002332: this is a personal Microsoft account, and the client " + config.DefaultClientID + " takes work or school accounts only"},
		{53003, tenant, true, "AADSTS53003: a Conditional Access policy of your tenant blocked this sign-in (device code sign-in is often blocked): use a browser sign-in (--login=browser), or a client your tenant allows (--client-id)"},
		{65001, tenant, false, "AADSTS65001: the client " + config.DefaultClientID + " needs consent in your tenant: ask an admin to grant it, or use an app of your own (--client-id)"},
		{50076, user, false, "AADSTS50076: your tenant requires multi-factor authentication, which the password flow cannot pass: use --login=browser or --login=device"},
		{50079, user, false, "AADSTS50079: your tenant requires you to set up multi-factor authentication, which the password flow cannot do"},
		{700016, tenant, false, "AADSTS700016: the tenant does not know the client ID " + config.DefaultClientID + ": check --client-id"},
		{90002, tenant, false, "AADSTS90002: there is no tenant "},
	} {
		t.Run(strings.TrimPrefix(tc.want[:13], "AADSTS"), func(t *testing.T) {
			change := func(c *config.Config) {}
			if tc.device {
				change = func(c *config.Config) { c.Login = config.LoginDevice }
			}
			if msg := signInError(t, tc.who, tc.aadsts, change); !strings.Contains(msg, tc.want) {
				t.Fatalf("got  %s\nwant %s", msg, tc.want)
			}
		})
	}
}

// A password sign-in says once that the flow is deprecated.
func TestPasswordFlowIsNotedAsDeprecated(t *testing.T) {
	e := newEmulated(t, nil)
	var stderr bytes.Buffer
	e.stderr = &stderr // read when the first get builds the signer
	e.get(t)
	if got := strings.Count(stderr.String(), "--login=password is deprecated"); got != 1 || strings.Count(stderr.String(), "\n") != 1 {
		t.Fatalf("stderr %q", stderr.String())
	}
}

// An organisation backed by Microsoft accounts names no tenant to an anonymous request (Basic
// alone, an all-zero X-VSS-ResourceTenant): the sign-in goes to the multi-tenant endpoint, and
// the PAT is made there.
func TestOrganisationOfMicrosoftAccounts(t *testing.T) {
	e := newEmulated(t, nil)
	e.targetMicrosoftAccountsOrg(t)
	if c := e.get(t); c.Password == "" {
		t.Fatal("no PAT")
	}
	if rec := e.stored(t); rec.Tenant != config.TenantOrganizations || e.srv.Counters().PATsCreated != 1 {
		t.Fatalf("%s of tenant %q, %d PATs made; want one PAT signed in through %s", kindOf(rec), rec.Tenant, e.srv.Counters().PATsCreated, config.TenantOrganizations)
	}
}

// A tenant discovery that fails is a guess (the multi-tenant endpoint), and a guess is not
// remembered: once the organisation answers, the next sign-in, whatever needs it, goes to its
// tenant, which the record then keeps and no later sign-in asks for again.
func TestGuessedTenantIsNotRemembered(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy azdotest.Policy
		next   func(t *testing.T, e *emulated, last Credential) // makes the next get sign in
	}{
		{"renewal", azdotest.Policy{}, func(_ *testing.T, e *emulated, _ Credential) {
			e.srv.Advance(config.DefaultLifetime - config.DefaultRenewBefore + time.Hour)
		}},
		{"new PAT", azdotest.Policy{}, func(t *testing.T, e *emulated, last Credential) {
			if err := e.Reject(context.Background(), e.target, last.Password); err != nil {
				t.Fatal(err)
			}
		}},
		{"fallback token", azdotest.Policy{DisablePATCreation: true}, func(*testing.T, *emulated, Credential) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEmulated(t, nil)
			if err := e.srv.SetPolicy(e.srv.Org, tc.policy); err != nil {
				t.Fatal(err)
			}
			e.fault(t, azdotest.Fault{Endpoint: "org", Kind: azdotest.FaultStatus, Status: http.StatusNotFound})
			last := e.get(t)
			rec := e.stored(t)
			if rec.Tenant != config.TenantOrganizations {
				t.Fatalf("after a failed discovery %s signed in to %q, want %s", kindOf(rec), rec.Tenant, config.TenantOrganizations)
			}
			if rec.Kind == cache.KindPAT {
				// A guess in the record does not send a get its PAT serves to the network.
				before := e.srv.Counters().Requests
				e.get(t)
				if !maps.Equal(before, e.srv.Counters().Requests) {
					t.Fatalf("a get served from the stored PAT made requests: %v, then %v", before, e.srv.Counters().Requests)
				}
			}
			for _, asks := range []int{1, 0} {
				tc.next(t, e, last)
				before := e.srv.Counters().Requests["org"]
				last = e.get(t)
				rec = e.stored(t)
				asked := e.srv.Counters().Requests["org"] - before
				if rec.Tenant != strings.ToLower(e.srv.TenantID) || asked != asks {
					t.Fatalf("a later get: %s of tenant %q, %d discoveries; want the organisation's tenant %s, asked %d time(s)",
						kindOf(rec), rec.Tenant, asked, e.srv.TenantID, asks)
				}
			}
		})
	}
}

// A record remembers its tenant when the index has lost it: a renewal signs in there, without
// asking the organisation (which does not answer now), and puts no guess in its place.
func TestRecordKeepsItsTenantWhenTheIndexIsLost(t *testing.T) {
	e := newEmulated(t, nil)
	e.get(t)
	if err := os.Remove(e.index().path()); err != nil {
		t.Fatal(err)
	}
	e.fault(t, azdotest.Fault{Endpoint: "org", Kind: azdotest.FaultStatus, Status: http.StatusNotFound})
	e.srv.Advance(config.DefaultLifetime - config.DefaultRenewBefore + time.Hour)
	before := e.srv.Counters()
	e.get(t)
	after := e.srv.Counters()
	if rec := e.stored(t); rec.Tenant != strings.ToLower(e.srv.TenantID) || rec.TenantGuessed || after.Requests["pats.update"] == before.Requests["pats.update"] || after.Requests["org"] != before.Requests["org"] {
		t.Fatalf("after a renewal, %s of tenant %q (guessed %v), %d renewals, %d discoveries; want the organisation's tenant %s, not asked",
			kindOf(rec), rec.Tenant, rec.TenantGuessed, after.Requests["pats.update"]-before.Requests["pats.update"], after.Requests["org"]-before.Requests["org"], e.srv.TenantID)
	}
}

// An organisation of Microsoft accounts names the multi-tenant endpoint as its tenant: that is an
// answer, not a guess, and a fallback to the Entra token (a get that signs in every time) does not
// ask the organisation again.
func TestMicrosoftAccountsTenantIsRemembered(t *testing.T) {
	e := newEmulated(t, nil)
	e.targetMicrosoftAccountsOrg(t)
	if err := e.srv.SetPolicy(e.target.Org, azdotest.Policy{DisablePATCreation: true}); err != nil {
		t.Fatal(err)
	}
	e.get(t)
	before := e.srv.Counters().Requests["org"]
	for range 3 {
		if c := e.get(t); !c.Bearer {
			t.Fatal("no fallback to the Entra token when the organisation forbids PATs")
		}
	}
	if rec := e.stored(t); rec.Kind != cache.KindEntra || rec.Tenant != config.TenantOrganizations || e.srv.Counters().Requests["org"] != before {
		t.Fatalf("%s of tenant %q after %d more discoveries; want the Entra fallback of %s, asked no more",
			kindOf(rec), rec.Tenant, e.srv.Counters().Requests["org"]-before, config.TenantOrganizations)
	}
}

// targetMicrosoftAccountsOrg adds an organisation backed by Microsoft accounts, with e's user in
// it, and makes it e's target.
func (e *emulated) targetMicrosoftAccountsOrg(t *testing.T) {
	t.Helper()
	if err := e.srv.AddOrg("personal", azdotest.MicrosoftAccounts); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.AddUser(e.srv.User, e.srv.Password, e.srv.TenantID, "personal"); err != nil {
		t.Fatal(err)
	}
	e.target = Target{Org: "personal"}
}

// stored is the record the store holds for e's target; the test fails without one.
func (e *emulated) stored(t *testing.T) *cache.Record {
	t.Helper()
	rec, err := e.load(context.Background(), e.key(e.target))
	if err != nil || rec == nil {
		t.Fatalf("the store holds %s (%v)", kindOf(rec), err)
	}
	return rec
}
