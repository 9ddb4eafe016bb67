package cli

// End-to-end tests, with real git, of how the helper meets Azure DevOps as it answers today: a
// token the PAT API refuses, and a client the PAT API will not serve.

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// The cached access token expires on the service before this machine thinks it does: the PAT API
// refuses it, the helper refreshes it silently, and the clone goes through without a prompt.
func TestCloneSucceedsAfterARefusedToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	dir := w.clone()
	old := w.activePATs()[0]
	if err := w.srv.RevokePAT(old.AuthorizationID); err != nil {
		t.Fatal(err)
	}
	w.srv.Advance(2 * time.Hour)
	// git sends the revoked PAT, gets 401, runs erase and fails this once.
	if r := w.git(dir, "fetch", "-q"); r.err == nil {
		t.Fatalf("fetch with a revoked PAT succeeded")
	}
	before := w.srv.Counters()
	again := filepath.Join(testenv.TempDir(t), "again")
	r := w.git("", "clone", "-q", w.srv.RepoURL, again)
	if r.err != nil {
		t.Fatalf("clone after a refused token: %v\n%s", r.err, r.stderr)
	}
	c := w.srv.Counters()
	if c.PATsCreated != 2 || c.Grants["device_code"] != 1 || c.Grants["refresh_token"] <= before.Grants["refresh_token"] {
		t.Fatalf("%d PATs made, grants %v; want a second PAT after a silent refresh, no new sign-in", c.PATsCreated, c.Grants)
	}
	if c.Requests["pats.create"] != before.Requests["pats.create"]+2 || c.Requests["signin"] != 0 {
		t.Fatalf("%d creates (want the refused one and one more), %d sign-in page visits (want none)",
			c.Requests["pats.create"]-before.Requests["pats.create"], c.Requests["signin"])
	}
	if strings.TrimSpace(r.stderr) != "" {
		t.Fatalf("a silent refresh printed %q", r.stderr)
	}
}

// The PAT API refuses the sign-ins of the default client: git gets the Entra token, the user one
// line saying why and what would give PATs, and later operations are quiet.
func TestCloneFallsBackWhenTheClientLacksPATScopes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	if err := w.srv.SetPATScopes(azdotest.DefaultClientID, false); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(testenv.TempDir(t), "clone")
	r := w.git("", "clone", "-q", w.srv.RepoURL, dir)
	if r.err != nil {
		t.Fatalf("clone with a client the PAT API refuses: %v\n%s", r.err, r.stderr)
	}
	var lines []string // besides the device code sign-in's prompt
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if !strings.Contains(l, "To sign in") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "vso.pats_manage") || !strings.Contains(lines[0], "--client-id") ||
		!strings.Contains(lines[0], "Entra ID") {
		t.Fatalf("want one line explaining the fallback and the fix, got stderr %q", r.stderr)
	}
	if w.srv.Counters().PATsCreated != 0 {
		t.Fatalf("a PAT was made for a client the PAT API refuses")
	}
	r = w.git(dir, "fetch", "-q")
	if r.err != nil || strings.TrimSpace(r.stderr) != "" {
		t.Fatalf("second fetch: err=%v stderr=%q", r.err, r.stderr)
	}
}
