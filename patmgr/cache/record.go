package cache

import (
	"crypto/subtle"
	"encoding/json"
	"strings"
	"time"
)

// Record kinds.
const (
	KindPAT   = "pat"
	KindEntra = "entra" // the organisation forbids PATs: hand out Entra access tokens instead
)

// Record is what the helper remembers for one organisation and account, stored as JSON.
// Everything but Token is also kept, without the secret, in the index file, so status can read
// it without the keyring.
type Record struct {
	Kind            string    `json:"kind"`
	Host            string    `json:"host"`
	Org             string    `json:"org"`
	Account         string    `json:"account,omitempty"`
	HomeAccountID   string    `json:"homeAccountId,omitempty"`
	Tenant          string    `json:"tenant,omitempty"`
	TenantGuessed   bool      `json:"tenantGuessed,omitempty"` // Tenant is a failed discovery's guess: the next sign-in asks again
	AuthorizationID string    `json:"authorizationId,omitempty"`
	Token           string    `json:"token,omitempty"`
	Scope           string    `json:"scope,omitempty"`
	DisplayName     string    `json:"displayName,omitempty"`
	ValidFrom       time.Time `json:"validFrom,omitzero"`
	ValidTo         time.Time `json:"validTo,omitzero"`
	// Rejected is set by git's erase: the server refused Token, so the next get replaces it (for
	// KindEntra, MSAL's token: the next get refreshes it or signs in, never hands it out again).
	Rejected    bool      `json:"rejected,omitempty"`
	PolicyError string    `json:"policyError,omitempty"`
	CreatedBy   string    `json:"createdBy,omitempty"`
	UpdatedAt   time.Time `json:"updatedAt,omitzero"`
}

// RenewAt is when a PAT enters its renewal window: renewBefore ahead of its end. When the PAT
// was given a life no longer than the window (a policy clamped it, or --lifetime is short), it
// would be renewed on every get; the middle of that life is used then. The life counts from the
// last renewal: from the PAT's creation (ValidFrom, which the service keeps), every get after
// the first renewal would renew. A PAT's record is saved only when it is made or renewed (or
// rejected, and then never served), so UpdatedAt is that time.
func (r *Record) RenewAt(renewBefore time.Duration) time.Time {
	start := r.ValidFrom
	if r.UpdatedAt.After(start) {
		start = r.UpdatedAt
	}
	window := renewBefore
	if life := r.ValidTo.Sub(start); start.Before(r.ValidTo) && window >= life {
		window = life / 2
	}
	return r.ValidTo.Add(-window)
}

// Servable reports whether the PAT can go to git as it is, with no renewal due.
func (r *Record) Servable(now time.Time, renewBefore time.Duration) bool {
	return r.Alive(now) && now.Before(r.RenewAt(renewBefore))
}

// Alive reports whether the PAT should still work, renewal due or not.
func (r *Record) Alive(now time.Time) bool {
	return r != nil && r.Kind == KindPAT && r.Token != "" && !r.Rejected && now.Before(r.ValidTo)
}

// Holds reports whether password is this record's secret, in constant time.
func (r *Record) Holds(password string) bool {
	return r != nil && r.Token != "" && subtle.ConstantTimeCompare([]byte(r.Token), []byte(password)) == 1
}

// Public is the record without its secret, as the index keeps it.
func (r Record) Public() Record {
	r.Token = ""
	return r
}

// Encode writes a record for the store.
func Encode(r *Record) ([]byte, error) { return json.Marshal(r) }

// Decode reads a stored record. Fields it does not know are skipped: a newer version may have
// written them.
func Decode(b []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Key names a record in the store. The account is part of the key only when the remote
// names one, so the common case is a single keyring look-up.
func Key(host, org, account string) string {
	k := "pat:" + host + "/" + org
	if account != "" {
		k += "/" + strings.ToLower(account) // org names have no '/', so this cannot collide
	}
	return k
}
