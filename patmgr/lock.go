package patmgr

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// lockPoll is how often a waiting process retries a held lock. Waiting is bounded by the
// caller's context, and the OS releases a lock when its holder dies, so a killed process never
// leaves a stale one.
const lockPoll = 20 * time.Millisecond

// lockName turns a store key into a file name that cannot escape the lock directory.
func lockName(key string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, strings.ToLower(key)) + ".lock"
}

// lock takes an exclusive, cross-process lock named after key, waiting until ctx ends.
func lock(ctx context.Context, stateDir, key string) (unlock func(), err error) {
	dir := filepath.Join(stateDir, "locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the lock directory: %w", err)
	}
	fl := flock.New(filepath.Join(dir, lockName(key)))
	ok, err := fl.TryLockContext(ctx, lockPoll)
	if err != nil || !ok {
		return nil, fmt.Errorf("waiting for another git-credential-azdo to finish (lock %s): %w", fl.Path(), err)
	}
	return func() { fl.Unlock() }, nil
}

// waitUnlocked returns once nobody holds key's lock, without keeping it; waited reports whether
// someone held it. Waiters queue for a shared lock, so when the holder is done they all wake at
// once (each then finds the holder's result in the store) instead of passing the exclusive lock
// on one by one, and they wake when it is released rather than at their next poll.
func waitUnlocked(ctx context.Context, stateDir, key string) (waited bool, err error) {
	dir := filepath.Join(stateDir, "locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("creating the lock directory: %w", err)
	}
	fl := flock.New(filepath.Join(dir, lockName(key)))
	if ok, err := fl.TryRLock(); err != nil || ok {
		if ok {
			fl.Unlock()
		}
		return false, err
	}
	done := make(chan error, 1)
	go func() { done <- fl.RLock() }()
	select {
	case err := <-done:
		if err != nil {
			return true, err
		}
		fl.Unlock()
		return true, nil
	case <-ctx.Done():
		// The blocked RLock goroutine is left behind; the process is about to give up.
		return true, fmt.Errorf("waiting for another git-credential-azdo to finish (lock %s): %w", fl.Path(), ctx.Err())
	}
}
