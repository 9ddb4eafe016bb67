// Package statelock names and takes the cross-process locks under STATE-DIR/locks, one per key:
// an organisation's PAT, the MSAL cache, the index, the configure record, so that two
// git-credential-azdo processes never sign in, mint, renew or write the same state at once.
package statelock

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// poll is how often a waiting process retries a held lock. Waiting is bounded by the caller's
// context, and the OS releases a lock when its holder dies, so a killed process never leaves a
// stale one.
const poll = 20 * time.Millisecond

// FileStem turns a store key into a file name, less its extension, that cannot escape the
// directory it is put in: key's lock, and other files kept per key (the lost-create journal).
func FileStem(key string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, strings.ToLower(key))
}

// Path is the lock file of key.
func Path(stateDir, key string) string {
	return filepath.Join(stateDir, "locks", FileStem(key)+".lock")
}

// create makes the lock directory, checks it and the state directory (see store.CheckDir), and
// returns key's lock, its file made or checked as store.OpenPrivate does.
func create(stateDir, key string) (*flock.Flock, string, error) {
	path := Path(stateDir, key)
	if err := store.MkdirPrivate(filepath.Dir(path)); err != nil {
		return nil, "", fmt.Errorf("the lock directory: %w", err)
	}
	if err := store.CheckDir(stateDir); err != nil {
		return nil, "", fmt.Errorf("the state directory: %w", err)
	}
	fl, err := store.NewLock(path)
	if err != nil {
		return nil, "", fmt.Errorf("the lock file: %w", err)
	}
	return fl, path, nil
}

// Lock is a held lock.
type Lock struct{ fl *flock.Flock }

// Unlock releases the lock.
func (l *Lock) Unlock() { l.fl.Unlock() }

// waitError is what every wait that ends unserved reports.
func waitError(path string, err error) error {
	return fmt.Errorf("waiting for another git-credential-azdo to finish (lock %s): %w", path, err)
}

// Acquire takes key's lock exclusively, waiting until ctx ends.
func Acquire(ctx context.Context, stateDir, key string) (*Lock, error) {
	fl, path, err := create(stateDir, key)
	if err != nil {
		return nil, err
	}
	// A free lock is taken even when ctx has ended, so that the error comes from the work that
	// ran out of time, not from a wait for another process that never happened.
	ok, err := fl.TryLock()
	if err == nil && !ok {
		ok, err = fl.TryLockContext(ctx, poll)
	}
	if err != nil || !ok {
		return nil, waitError(path, err)
	}
	return &Lock{fl: fl}, nil
}

// WaitUnlocked returns once nobody holds key's lock, without keeping it; waited reports whether
// someone held it. Waiters queue for a shared lock, so when the holder is done they all wake at
// once (each then finds the holder's result in the store) instead of passing the exclusive lock
// on one by one, and they wake when it is released rather than at their next poll.
func WaitUnlocked(ctx context.Context, stateDir, key string) (waited bool, err error) {
	fl, path, err := create(stateDir, key)
	if err != nil {
		return false, err
	}
	if ok, err := fl.TryRLock(); err != nil || ok {
		if ok {
			fl.Unlock()
		}
		return false, err
	}
	done := make(chan error, 1)
	go func() {
		// Released at once, also when the wait has been given up meanwhile: a lock kept by a
		// goroutine nobody waits for would hold off every other process.
		err := fl.RLock()
		if err == nil {
			fl.Unlock()
		}
		done <- err
	}()
	select {
	case err := <-done:
		return true, err
	case <-ctx.Done():
		return true, waitError(path, ctx.Err())
	}
}
