//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/helper"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/orglock"
)

// TestParallelGetsStartOneFullProgram runs many git ls-remote at once on an empty cache: the
// fronts that miss together must start the full program once, passing it the organisation's
// lock, and serve what it stored; one sign-in, one PAT.
func TestParallelGetsStartOneFullProgram(t *testing.T) {
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
			starts := w.logFullProgramStarts()
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
			if got := starts(); len(got) != 1 || got[0] != "lock-fd=3" {
				t.Fatalf("%d parallel ls-remote started the full program %d times (%q), want once, given the lock as descriptor 3", n, len(got), got)
			}
		})
	}
}

// logFullProgramStarts makes the world's git run a front whose full program beside it is a
// script that logs every start (and the lock descriptor it was given) before running the real
// one, and returns a function that reads the log.
func (w *world) logFullProgramStarts() func() []string {
	w.t.Helper()
	real := filepath.Join(helperBinary(w.t), helper.FullProgram)
	if _, err := os.Stat(real); err != nil {
		w.t.Fatal(err)
	}
	dir := w.t.TempDir()
	// The front looks for the full program beside its own executable, so it needs a copy here.
	front := filepath.Join(dir, prog)
	if err := os.Link(filepath.Join(helperBinary(w.t), prog), front); err != nil {
		w.t.Fatalf("linking the front into %s: %v", dir, err)
	}
	log := filepath.Join(dir, "starts.log")
	script := fmt.Sprintf("#!/bin/sh\necho \"lock-fd=${%s:-none}\" >> '%s'\nexec '%s' \"$@\"\n", orglock.FDEnv, log, real)
	if err := os.WriteFile(filepath.Join(dir, helper.FullProgram), []byte(script), 0o755); err != nil {
		w.t.Fatal(err)
	}
	w.env = append(w.env, "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() []string {
		b, err := os.ReadFile(log)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			w.t.Fatal(err)
		}
		return strings.Fields(string(b))
	}
}

// A get that waited for another process, which then stored nothing, hands over with what is left
// of its --timeout: the wait and the full program together keep to it. Here the full program's
// PAT creation is slowed past what is left, and the get must fail by the deadline, not a fresh
// --timeout later.
func TestHandOverAfterAWaitKeepsToTheTimeout(t *testing.T) {
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	held, err := orglock.TryAcquire(filepath.Join(w.home, "state"), w.recordKey())
	if err != nil || held == nil {
		t.Fatalf("taking the organisation's lock: %v, %v", held, err)
	}
	release := time.AfterFunc(3*time.Second, held.Unlock) // as if its holder stored nothing
	defer release.Stop()
	if err := w.srv.InjectFault(azdotest.Fault{Endpoint: "pats.create", Kind: azdotest.FaultDelay, Delay: 6 * time.Second}); err != nil {
		t.Fatal(err)
	}
	r := w.get("AZDO_TIMEOUT=7s")
	// A fresh 7 s after the wait would end after 10 s; the bound leaves a loaded machine the
	// start of both programs.
	if r.code == 0 || r.took > 9*time.Second {
		t.Fatalf("a get that waited 3 s of its 7 s, then met a 6 s create: exit %d after %v, want a failure by the deadline\n%s",
			r.code, r.took.Round(time.Millisecond), r.stderr)
	}
}
