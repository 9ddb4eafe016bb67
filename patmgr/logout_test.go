package patmgr

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
)

// Logout keeps its promise: a token the service refuses is refreshed once for the revoke, and a
// PAT that still cannot be revoked keeps its record for the next try.
func TestLogoutRefreshesARefusedTokenAndKeepsWhatItCannotRevoke(t *testing.T) {
	ctx := context.Background()
	t.Run("refused token", func(t *testing.T) {
		e := newEmulated(t, nil)
		e.get(t)
		refreshes := e.srv.Counters().Grants["refresh_token"]
		e.fault(t, azdotest.Fault{Endpoint: "pats.revoke", Kind: azdotest.FaultStatus, Status: 401})
		res, err := e.Logout(ctx, []string{e.srv.Org}, false)
		if err != nil || len(res) != 1 || !res[0].Revoked {
			t.Fatalf("logout: %+v, %v; want the PAT revoked", res, err)
		}
		if got := e.srv.Counters().Grants["refresh_token"]; got != refreshes+1 || e.active() != 0 {
			t.Fatalf("%d refreshes (want %d), %d active PATs", got, refreshes+1, e.active())
		}
	})
	// A refusal answered with 200 is a refusal: the PAT is not counted revoked, and the service's
	// words reach the note as one safe line.
	t.Run("refused with 200", func(t *testing.T) {
		e := newEmulated(t, nil)
		e.get(t)
		e.fault(t, azdotest.Fault{Endpoint: "pats.revoke", Kind: azdotest.FaultPATError, Code: "accessDenied", Count: 4,
			Message: "refused\x1b]0;pwned\x07"})
		res, _ := e.Logout(ctx, []string{e.srv.Org}, false)
		if len(res) != 1 || res[0].Revoked || e.active() != 1 {
			t.Fatalf("logout: %+v, %d active; want the PAT named as not revoked", res, e.active())
		}
		if strings.ContainsAny(res[0].Note, "\x1b\x07") || !strings.Contains(res[0].Note, "refused]0;pwned") {
			t.Fatalf("note %q, want the service's words without terminal control", res[0].Note)
		}
	})
	t.Run("revoke fails", func(t *testing.T) {
		e := newEmulated(t, nil)
		e.get(t)
		e.statusFaults(t, "pats.revoke", 503, 8)
		res, _ := e.Logout(ctx, []string{e.srv.Org}, false)
		if len(res) != 1 || res[0].Revoked || res[0].Note == "" {
			t.Fatalf("logout: %+v; want the PAT named as not revoked", res)
		}
		if rec, err := e.load(ctx, e.key(e.target)); err != nil || rec == nil {
			t.Fatalf("record after a failed revoke: %s (%v); want it kept", kindOf(rec), err)
		}
		// logout --all, which then writes nothing, removes the file store's copies a killed writer left.
		stale := filepath.Join(e.cfg.StateDir, ".credentials.tmp-1")
		if err := os.WriteFile(stale, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Logout(ctx, nil, true); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(stale); !os.IsNotExist(err) {
			t.Fatalf("logout --all left %s (%v)", stale, err)
		}
		e.srv.ClearFaults()
		if res, err := e.Logout(ctx, []string{e.srv.Org}, false); err != nil || len(res) != 1 || !res[0].Revoked || e.active() != 0 {
			t.Fatalf("second logout: %+v, %v, %d active; want it revoked", res, err, e.active())
		}
	})
}
