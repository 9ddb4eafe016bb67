package patmgr

import (
	"context"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/orglock"
)

// lockName turns a store key into a file name that cannot escape the lock directory.
func lockName(key string) string { return orglock.Name(key) }

// lock takes an exclusive, cross-process lock named after key, waiting until ctx ends.
func lock(ctx context.Context, stateDir, key string) (unlock func(), err error) {
	l, err := orglock.Acquire(ctx, stateDir, key)
	if err != nil {
		return nil, err
	}
	return l.Unlock, nil
}

// waitUnlocked returns once nobody holds key's lock, without keeping it; waited reports whether
// someone held it (see orglock.WaitUnlocked).
func waitUnlocked(ctx context.Context, stateDir, key string) (waited bool, err error) {
	return orglock.WaitUnlocked(ctx, stateDir, key)
}
