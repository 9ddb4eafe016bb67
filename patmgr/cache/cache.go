// Package cache is what the helper keeps per organisation (a Record, under a Key) and the one
// decision a git get makes most often: can the stored PAT be served as it is?
package cache

import (
	"context"
	"errors"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// Target is the organisation (and optionally the account) a credential is for.
type Target struct {
	Org     string
	Account string // user@domain from the remote URL; "" = the one remembered for Org
	// Challenges are WWW-Authenticate values git passed on (wwwauth[], git 2.41+): they name the
	// tenant without a request of our own.
	Challenges []string
}

// Credential is what git gets.
type Credential struct {
	Password string
	Expires  time.Time
	// Bearer marks an Entra access token rather than a PAT (the fallback where an organisation
	// refuses PATs): a git that can send it as a bearer token gets it so.
	Bearer bool
}

// Load returns the record stored under key, or nil when there is none. A record that cannot be
// read counts as none: it is replaced, never served.
func Load(ctx context.Context, st store.Store, key string) (*Record, error) {
	b, err := st.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r, err := Decode(b)
	if err != nil {
		return nil, nil
	}
	return r, nil
}

// Lookup returns the credential stored under key when it can be served as it is: a PAT outside
// its renewal window. ok is false when the caller must sign in, renew or create. It takes no
// lock and makes no network call.
func Lookup(ctx context.Context, st store.Store, key string, renewBefore time.Duration, now time.Time) (c Credential, ok bool, err error) {
	r, err := Load(ctx, st, key)
	if err != nil || !r.Servable(now, renewBefore) {
		return Credential{}, false, err
	}
	return r.Credential(), true, nil
}

// Credential is the record as git gets it.
func (r *Record) Credential() Credential {
	return Credential{Password: r.Token, Expires: r.ValidTo}
}
