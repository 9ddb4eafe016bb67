package patmgr

import (
	"crypto/subtle"
	"encoding/json"
	"strings"
	"time"
)

// Record kinds.
const (
	kindPAT   = "pat"
	kindEntra = "entra" // the organisation forbids PATs: hand out Entra access tokens instead
)

// Record is what the helper remembers for one organisation and account. Everything but Token is
// also kept, without the secret, in the index file, so status can read it without the keyring.
type Record struct {
	Kind            string    `json:"kind"`
	Host            string    `json:"host"`
	Org             string    `json:"org"`
	Account         string    `json:"account,omitempty"`
	HomeAccountID   string    `json:"homeAccountId,omitempty"`
	Tenant          string    `json:"tenant,omitempty"`
	AuthorizationID string    `json:"authorizationId,omitempty"`
	Token           string    `json:"token,omitempty"`
	Scope           string    `json:"scope,omitempty"`
	DisplayName     string    `json:"displayName,omitempty"`
	ValidFrom       time.Time `json:"validFrom,omitzero"`
	ValidTo         time.Time `json:"validTo,omitzero"`
	// Rejected is set by git's erase: the server refused Token, so the next get replaces it.
	Rejected    bool      `json:"rejected,omitempty"`
	PolicyError string    `json:"policyError,omitempty"`
	CreatedBy   string    `json:"createdBy,omitempty"`
	UpdatedAt   time.Time `json:"updatedAt,omitzero"`
}

// renewAt is when a PAT enters its renewal window: renewBefore ahead of its end. When a policy
// clamped the PAT to a life no longer than the window, it would be renewed on every get; the
// middle of its life is used then.
func (r *Record) renewAt(renewBefore time.Duration) time.Time {
	window := renewBefore
	if life := r.ValidTo.Sub(r.ValidFrom); r.ValidFrom.Before(r.ValidTo) && window >= life {
		window = life / 2
	}
	return r.ValidTo.Add(-window)
}

// servable reports whether the PAT can go to git as it is, with no renewal due.
func (r *Record) servable(now time.Time, renewBefore time.Duration) bool {
	return r != nil && r.Kind == kindPAT && r.Token != "" && !r.Rejected && now.Before(r.renewAt(renewBefore))
}

// alive reports whether the PAT should still work, renewal due or not.
func (r *Record) alive(now time.Time) bool {
	return r != nil && r.Kind == kindPAT && r.Token != "" && !r.Rejected && now.Before(r.ValidTo)
}

func (r *Record) holds(password string) bool {
	return r != nil && r.Token != "" && subtle.ConstantTimeCompare([]byte(r.Token), []byte(password)) == 1
}

// public is the record without its secret, as the index keeps it.
func (r Record) public() Record {
	r.Token = ""
	return r
}

func decodeRecord(b []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// recordKey names a record in the store. The account is part of the key only when the remote
// names one, so the common case is a single keyring look-up.
func recordKey(host, org, account string) string {
	k := "pat:" + host + "/" + org
	if account != "" {
		k += "/" + strings.ToLower(account) // org names have no '/', so this cannot collide
	}
	return k
}

func encodeRecord(r *Record) ([]byte, error) { return json.Marshal(r) }
