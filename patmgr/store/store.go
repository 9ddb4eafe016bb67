// Package store keeps the helper's small secrets (PAT records, the MSAL token
// cache) either in the operating system's keyring or, when the user opts in,
// in a private file.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Store keeps small secrets by key.
//
// Implementations are safe for concurrent use by goroutines. Across processes,
// Set is atomic per key: a reader sees the old or the new value, never a mix.
type Store interface {
	// Get returns the value stored under key, or an error matching ErrNotFound
	// when there is none.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value under key, replacing any previous value.
	Set(ctx context.Context, key string, value []byte) error
	// Delete removes key. Deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
	// Describe names the backing store for status and doctor output,
	// e.g. "Secret Service (keyring)" or "file /home/u/.local/state/git-credential-azdo/credentials".
	Describe() string
}

// Sentinel errors. Errors returned by the stores wrap these (test with
// errors.Is); the messages of errors the user has to act on say what to do.
var (
	// ErrNotFound: no value under that key.
	ErrNotFound = errors.New("secret not found")

	// ErrUnavailable: there is no keyring to talk to.
	ErrUnavailable = errors.New("no Secret Service on this machine (is gnome-keyring or KeePassXC running on the D-Bus session bus?): " +
		"opt in to the file store with 'git-credential-azdo configure --store=file' (or AZDO_STORE=file for one shell), " +
		"or start one in a shell of its own with 'dbus-run-session -- bash' and in it " +
		"'printf %s \"$KEYRING_PASSWORD\" | gnome-keyring-daemon --unlock --components=secrets' (README: Servers and containers)")

	// ErrTimeout: the keyring did not answer within the configured timeout. The returned error
	// goes on to say how long was waited, during which call, and what to do.
	ErrTimeout = errors.New("the keyring did not answer")

	// ErrLocked: the keyring collection is locked and could not be unlocked
	// (typically no password prompt can be shown, e.g. over SSH).
	ErrLocked = errors.New("the keyring is locked and could not be unlocked (no password prompt could be shown?); " +
		"unlock it (for example by logging in to the desktop, or with your keyring manager) or opt in to the file store with --store=file; " +
		"'git-credential-azdo doctor' shows details")

	// ErrCorrupt: a stored value cannot be decoded. For the keyring this
	// also covers a multi-part value torn by a concurrent writer; such errors
	// match ErrNotFound as well, because writing the value again repairs it.
	// A corrupt store file does not match ErrNotFound: it needs the user.
	ErrCorrupt = errors.New("stored secret is corrupt")

	// ErrInvalidKey: the key cannot be used (empty, or with control characters,
	// which not every keyring backend passes through intact).
	ErrInvalidKey = errors.New("invalid store key")
)

// tornError reports a multi-part keyring value whose parts do not belong
// together. It matches ErrCorrupt and ErrNotFound: the caller should treat
// the secret as missing and write it again.
type tornError struct{ key, detail string }

func (e *tornError) Error() string {
	return fmt.Sprintf("%v: keyring value %q is incomplete or mixed from two writes (%s); it will be replaced on the next save", ErrCorrupt, e.key, e.detail)
}

func (e *tornError) Is(target error) bool { return target == ErrCorrupt || target == ErrNotFound }

// checkKey rejects keys that cannot be stored the same way by every
// implementation, so a key that works with one store works with all.
func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: %q contains a control character", ErrInvalidKey, key)
	}
	return nil
}
