package patmgr

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
)

// A created PAT that git could not be handed, or whose life is already over, is revoked at once
// and never stored; the get fails with one line that holds no secret.
func TestUnusablePATIsRevokedNotKept(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  map[string]any
	}{
		{"line feed in the secret", map[string]any{"token": "abcdefgh\nprotocol=http"}},
		{"carriage return in the secret", map[string]any{"token": "abcdefgh\rhost=evil.example"}},
		{"NUL in the secret", map[string]any{"token": "abcdefgh\x00ijklmnop"}},
		{"secret over git's line limit", map[string]any{"token": strings.Repeat("x", 65535)}},
		{"empty secret", map[string]any{"token": ""}},
		{"validTo in the past", map[string]any{"validTo": "2001-02-03T04:05:06.1234567Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEmulated(t, nil)
			e.fault(t, azdotest.Fault{Endpoint: "pats.create", Kind: azdotest.FaultTamper, Set: tc.set})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := e.Credential(ctx, e.target)
			if err == nil || !strings.Contains(err.Error(), "so it is not kept (it is revoked)") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("get: %v, want one line saying the PAT was revoked", err)
			}
			if tok, _ := tc.set["token"].(string); len(tok) > 8 && strings.Contains(err.Error(), tok[:8]) {
				t.Fatalf("the error quotes the secret: %v", err)
			}
			if c := e.srv.Counters(); c.PATsCreated != 1 || c.PATsRevoked != 1 || e.active() != 0 {
				t.Fatalf("%d created, %d revoked, %d active; want the one made revoked", c.PATsCreated, c.PATsRevoked, e.active())
			}
			if rec, err := e.load(ctx, e.key(e.target)); err != nil || rec != nil {
				t.Fatalf("stored %s (%v), want nothing", kindOf(rec), err)
			}
			if names := e.pendingNames(t); len(names) != 0 {
				t.Fatalf("journal holds %v after a settled revoke", names)
			}
			// Without the fault the next get makes a PAT that works.
			if c := e.get(t); c.Password == "" || e.active() != 1 {
				t.Fatalf("next get: %d active PATs", e.active())
			}
		})
	}
}
