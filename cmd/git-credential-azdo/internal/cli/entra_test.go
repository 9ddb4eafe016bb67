package cli

// End-to-end tests of the Entra ID side with real git: continuous access evaluation and the
// errors a real tenant sends.

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// cloneFromSecondOrg makes the world's user a member of one more organisation with a repository,
// and clones it: that needs a new PAT, so the PAT API meets the cached access token.
func (w *world) cloneFromSecondOrg(env ...string) result {
	w.t.Helper()
	const org = "fabrikam"
	if err := w.srv.AddOrg(org, w.srv.TenantID); err != nil {
		w.t.Fatal(err)
	}
	if err := w.srv.AddUser(w.srv.User, w.srv.Password, w.srv.TenantID, org); err != nil {
		w.t.Fatal(err)
	}
	if err := w.srv.AddRepo(org, "p", "r"); err != nil {
		w.t.Fatal(err)
	}
	dir := filepath.Join(testenv.TempDir(w.t), "clone")
	return w.run("", env, "git", "clone", "-q", w.srv.URL+"/"+org+"/p/_git/r", dir)
}

func TestCloneRecoversFromAClaimsChallengeWithoutAPrompt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	w.clone()
	if err := w.srv.ChallengeSessions(w.srv.User); err != nil {
		t.Fatal(err)
	}
	before := w.srv.Counters()
	// No prompt is allowed: a sign-in would fail the clone.
	r := w.cloneFromSecondOrg("AZDO_LOGIN=never", "GIT_TERMINAL_PROMPT=0", "AZDO_TRACE=1")
	if r.err != nil {
		t.Fatalf("clone after a claims challenge: %v\n%s", r.err, r.stderr)
	}
	after := w.srv.Counters()
	// The first create met the challenge, the second one (with the new token) made the PAT.
	if after.Requests["pats.create"] != before.Requests["pats.create"]+2 || after.PATsCreated != before.PATsCreated+1 {
		t.Fatalf("PAT API requests %d then %d, PATs created %d then %d", before.Requests["pats.create"], after.Requests["pats.create"], before.PATsCreated, after.PATsCreated)
	}
	if after.Grants["device_code"] != 1 || after.Grants["refresh_token"] != before.Grants["refresh_token"]+1 {
		t.Fatalf("want one silent refresh and no new sign-in, got grants %v then %v", before.Grants, after.Grants)
	}
	if !strings.Contains(r.stderr, "fabrikam asks for a new token with more claims") {
		t.Fatalf("the challenge was not answered with its claims:\n%s", r.stderr)
	}
	for _, l := range strings.Split(strings.TrimRight(r.stderr, "\n"), "\n") {
		if !strings.HasPrefix(l, prog+": trace: ") {
			t.Fatalf("the clone printed more than its trace: %s", l)
		}
	}
}

func TestCloneAfterRevokedSessionsSignsInAgain(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	w.clone()
	if err := w.srv.RevokeSessions(w.srv.User); err != nil {
		t.Fatal(err)
	}
	if r := w.cloneFromSecondOrg(); r.err != nil {
		t.Fatalf("clone after revoked sessions: %v\n%s", r.err, r.stderr)
	}
	if c := w.srv.Counters(); c.Grants["device_code"] != 2 {
		t.Fatalf("want a second device-code sign-in, got grants %v", c.Grants)
	}
}

// Each Entra error a real tenant sends ends a get with one line that names the fix.
func TestEntraErrorsAreOneLineEachEndToEnd(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	for _, tc := range []struct {
		code int
		env  string
		want string
	}{
		{9002332, "AZDO_LOGIN=device", "AADSTS9002332: this is a personal Microsoft account"},
		{53003, "AZDO_LOGIN=device", "AADSTS53003: a Conditional Access policy of your tenant blocked this sign-in"},
		{65001, "AZDO_LOGIN=device", "AADSTS65001: the client " + azdotest.DefaultClientID + " needs consent in your tenant"},
		{50076, "AZDO_LOGIN=password", "AADSTS50076: your tenant requires multi-factor authentication, which the password flow cannot pass"},
		{50079, "AZDO_LOGIN=password", "AADSTS50079: your tenant requires you to set up multi-factor authentication"},
		{700016, "AZDO_LOGIN=device", "AADSTS700016: the tenant does not know the client ID " + azdotest.DefaultClientID},
		{90002, "AZDO_LOGIN=device", "AADSTS90002: there is no tenant"},
	} {
		if err := w.srv.FailSignIns(w.srv.TenantID, tc.code); err != nil {
			t.Fatal(err)
		}
		r := w.get(tc.env, "AZDO_USERNAME="+w.srv.User, "AZDO_PASSWORD="+w.srv.Password)
		ok, problem := clearOutcome(t, r)
		if ok || problem != "" {
			t.Errorf("AADSTS%d: succeeded=%v %s", tc.code, ok, problem)
			continue
		}
		if lines := r.errorLines(); !strings.Contains(lines[len(lines)-1], tc.want) {
			t.Errorf("AADSTS%d: got %q, want %q", tc.code, r.errorLines(), tc.want)
		}
		if err := w.srv.FailSignIns(w.srv.TenantID, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// Where PATs are forbidden git gets the Entra token itself, which continuous access evaluation
// can void long before it expires: the fetch that meets the challenge fails, its erase has the
// token replaced, and the next fetch works without a prompt.
func TestVoidedEntraTokenIsReplacedAfterGitErasesIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	if err := w.srv.SetPolicy(w.srv.Org, azdotest.Policy{DisablePATCreation: true}); err != nil {
		t.Fatal(err)
	}
	dir := w.clone()
	if err := w.srv.ChallengeSessions(w.srv.User); err != nil {
		t.Fatal(err)
	}
	before := w.srv.Counters()
	w.env = append(w.env, "AZDO_LOGIN=never", "GIT_TERMINAL_PROMPT=0")
	if r := w.git(dir, "fetch", "-q"); r.err == nil {
		t.Fatal("a fetch with the voided token succeeded")
	}
	w.mustGit(dir, "fetch", "-q")
	after := w.srv.Counters()
	if after.Grants["device_code"] != 1 || after.Grants["refresh_token"] != before.Grants["refresh_token"]+1 {
		t.Fatalf("want one silent refresh and no new sign-in, got grants %v then %v", before.Grants, after.Grants)
	}
}
