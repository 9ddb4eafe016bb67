// Package oskeyring gives store.Keyring the OS keyring's items through go-keyring: the Secret
// Service on Linux, the Keychain on macOS, the Credential Manager on Windows. It is apart from
// package store so that the front git runs on every get, which on Linux only reads (directly,
// see store's secretservice_linux.go), links neither go-keyring nor godbus.
package oskeyring

import (
	"errors"
	"fmt"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// New returns a keyring store for service with every call bounded by timeout (see
// store.NewKeyring).
func New(service string, timeout time.Duration) store.Store {
	return store.NewKeyring(service, timeout, Items{})
}

// Items are go-keyring's item operations, their errors mapped to store's sentinels.
type Items struct{}

func (Items) Get(service, user string) (string, error) {
	v, err := keyring.Get(service, user)
	return v, mapErr(err)
}

func (Items) Set(service, user, value string) error {
	return mapErr(keyring.Set(service, user, value))
}

func (Items) Delete(service, user string) error {
	return mapErr(keyring.Delete(service, user))
}

// mapErr turns go-keyring's errors into store's sentinels, keeping the original in the chain for
// diagnosis.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound):
		return store.ErrNotFound
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return fmt.Errorf("keyring refused the value as too big (lower the part limit): %w", err)
	}
	return mapPlatformErr(err)
}
