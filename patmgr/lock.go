package patmgr

import (
	"context"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/statelock"
)

// lock takes an exclusive, cross-process lock named after key, waiting until ctx ends.
func lock(ctx context.Context, stateDir, key string) (unlock func(), err error) {
	l, err := statelock.Acquire(ctx, stateDir, key)
	if err != nil {
		return nil, err
	}
	return l.Unlock, nil
}
