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
