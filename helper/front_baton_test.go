//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package helper

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/orglock"
)

// missingFront is a front on a file store in a temporary state directory, and the key of an
// organisation whose PAT it does not hold.
func missingFront(t *testing.T) (*cacheOnly, string) {
	t.Helper()
	prev := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) }) // a wait leaves the process on one P
	cfg := config.Defaults()
	cfg.Store, cfg.StateDir = "file", t.TempDir()
	st, err := config.OpenStore(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &cacheOnly{cfg: &cfg, store: st}, cache.Key(cfg.ServiceHost(), "contoso", "")
}

// A PAT another process stored between the front's look-up and its lock is served, and the
// lock is let go rather than handed to a full program.
func TestMissedServesWhatWasStoredMeanwhile(t *testing.T) {
	c, key := missingFront(t)
	now := time.Now()
	b, err := cache.Encode(&cache.Record{Kind: cache.KindPAT, Org: "contoso", Token: "stored-meanwhile", ValidFrom: now, ValidTo: now.Add(30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.store.Set(t.Context(), key, b); err != nil {
		t.Fatal(err)
	}
	cred, err := c.missed(t.Context(), key)
	if err != nil || cred.Password != "stored-meanwhile" {
		t.Fatalf("missed = %v, %v; want the stored PAT", cred.Username, err)
	}
	if c.baton != nil {
		t.Fatal("the lock was kept for a full program")
	}
	l, err := orglock.TryAcquire(c.cfg.StateDir, key)
	if err != nil || l == nil {
		t.Fatalf("the lock is still held: %v, %v", l, err)
	}
	l.Unlock()
}

// A front that waits for another process past the operation's deadline gives up with the wait's
// error, instead of starting a full program that would wait just as long.
func TestMissedGivesUpAtTheDeadline(t *testing.T) {
	c, key := missingFront(t)
	c.cfg.Timeout = 200 * time.Millisecond
	held, err := orglock.TryAcquire(c.cfg.StateDir, key)
	if err != nil || held == nil {
		t.Fatalf("free lock: %v, %v", held, err)
	}
	defer held.Unlock()
	_, err = c.missed(t.Context(), key)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errHandOver) {
		t.Fatalf("missed = %v, want the wait's deadline", err)
	}
	if c.baton != nil {
		t.Fatal("took a lock another process holds")
	}
}

// After waiting for a process that stored nothing, the front hands over with what is left of
// --timeout, so that the wait and the full program together keep to it.
func TestMissedHandsOverWhatIsLeftOfTheTimeout(t *testing.T) {
	c, key := missingFront(t)
	c.cfg.Timeout = 4 * time.Second
	if env := c.timeLeft(); env != nil {
		t.Fatalf("before any wait: %v, want nothing", env)
	}
	held, err := orglock.TryAcquire(c.cfg.StateDir, key)
	if err != nil || held == nil {
		t.Fatalf("free lock: %v, %v", held, err)
	}
	time.AfterFunc(1200*time.Millisecond, held.Unlock) // ends without storing a PAT
	if _, err := c.missed(t.Context(), key); !errors.Is(err, errHandOver) {
		t.Fatalf("missed = %v, want a hand-over", err)
	}
	env := c.timeLeft()
	if len(env) != 1 {
		t.Fatalf("time left = %v", env)
	}
	left, ok := strings.CutPrefix(env[0], "AZDO_TIMEOUT=")
	d, err := time.ParseDuration(left)
	if !ok || err != nil || d < time.Second || d > 3*time.Second {
		t.Fatalf("time left = %v after a 1.2 s wait of a 4 s timeout", env)
	}
}
