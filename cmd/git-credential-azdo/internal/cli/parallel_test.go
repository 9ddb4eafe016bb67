package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/statelock"
)

// TestParallelGetsMakeOnePAT runs many git ls-remote at once on an empty cache: the gets that
// miss together wait for the one holding the organisation's lock and serve what it stored, so
// there is one sign-in and one PAT in all.
func TestParallelGetsMakeOnePAT(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// prepare leaves the world with no PAT stored.
		prepare func(t *testing.T, w *world)
	}{
		{"no sign-in", func(*testing.T, *world) {}},
		{"sign-in cached", func(t *testing.T, w *world) {
			if r := w.get(); r.code != 0 {
				t.Fatalf("first get: exit %d: %s", r.code, r.stderr)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := secretStore().Delete(ctx, w.recordKey()); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, azdotest.Options{AutoApprove: true})
			tc.prepare(t, w)
			before := w.srv.Counters()
			const n = 16
			var wg sync.WaitGroup
			errs := make(chan string, n)
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if r := w.git("", "ls-remote", w.srv.RepoURL); r.err != nil {
						errs <- fmt.Sprintf("%v: %s", r.err, r.stderr)
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			c := w.srv.Counters()
			if pats, grants := c.PATsCreated-before.PATsCreated, c.Grants["device_code"]; pats != 1 || grants != 1 {
				t.Errorf("%d parallel ls-remote: want 1 PAT and 1 sign-in in all, got %d and %d", n, pats, grants)
			}
		})
	}
}

// A get that waits for another process holding the organisation's lock gives up at its
// --timeout, with one line saying what it waited for.
func TestGetWaitingForTheLockKeepsToTheTimeout(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	held, err := statelock.Acquire(t.Context(), filepath.Join(w.home, "state"), w.recordKey())
	if err != nil {
		t.Fatalf("taking the organisation's lock: %v", err)
	}
	defer held.Unlock()
	const waited = "waiting for another git-credential-azdo to finish"
	r, _ := withMoreTimeUntil(t, func(timeoutEnv string) (result, bool) {
		r := w.get(timeoutEnv)
		return r, strings.Contains(r.stderr, waited)
	})
	succeeded, problem := clearOutcome(t, r)
	if succeeded || problem != "" {
		t.Fatalf("a get whose lock stays held: exit %d, %s\n%s", r.code, problem, hidePasswords(r.stderr))
	}
	if !strings.Contains(r.stderr, waited) {
		t.Fatalf("the get's error does not say what it waited for: %s", r.stderr)
	}
	if c := w.srv.Counters(); c.PATsCreated != 0 {
		t.Fatalf("a get that never had the lock created %d PATs", c.PATsCreated)
	}
}
