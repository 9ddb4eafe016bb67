package cache

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Record kinds.
const (
	KindPAT   = "pat"
	KindEntra = "entra" // the organisation forbids PATs: hand out Entra access tokens instead
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
	return r != nil && r.Kind == KindPAT && r.Token != "" && !r.Rejected && now.Before(r.RenewAt(renewBefore))
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

// A stored record is one "name=value" line per field that is set, the value quoted as a Go
// string literal (strconv.Quote), so no value can break a line. Not JSON: on the cached path a
// get decodes one record and nothing else, and encoding/json's reflection cost that get a tenth
// of a millisecond, as much as reading the store. The json tags above are the index's.
var (
	stringFields = []struct {
		name  string
		field func(*Record) *string
	}{
		{"kind", func(r *Record) *string { return &r.Kind }},
		{"host", func(r *Record) *string { return &r.Host }},
		{"org", func(r *Record) *string { return &r.Org }},
		{"account", func(r *Record) *string { return &r.Account }},
		{"homeAccountId", func(r *Record) *string { return &r.HomeAccountID }},
		{"tenant", func(r *Record) *string { return &r.Tenant }},
		{"authorizationId", func(r *Record) *string { return &r.AuthorizationID }},
		{"token", func(r *Record) *string { return &r.Token }},
		{"scope", func(r *Record) *string { return &r.Scope }},
		{"displayName", func(r *Record) *string { return &r.DisplayName }},
		{"policyError", func(r *Record) *string { return &r.PolicyError }},
		{"createdBy", func(r *Record) *string { return &r.CreatedBy }},
	}
	timeFields = []struct {
		name  string
		field func(*Record) *time.Time
	}{
		{"validFrom", func(r *Record) *time.Time { return &r.ValidFrom }},
		{"validTo", func(r *Record) *time.Time { return &r.ValidTo }},
		{"updatedAt", func(r *Record) *time.Time { return &r.UpdatedAt }},
	}
)

// Encode writes a record for the store.
func Encode(r *Record) ([]byte, error) {
	var b []byte
	put := func(name, value string) {
		b = append(b, name...)
		b = append(b, '=')
		b = strconv.AppendQuote(b, value)
		b = append(b, '\n')
	}
	for _, f := range stringFields {
		if v := *f.field(r); v != "" {
			put(f.name, v)
		}
	}
	for _, f := range timeFields {
		if t := *f.field(r); !t.IsZero() {
			put(f.name, t.Format(time.RFC3339Nano))
		}
	}
	if r.Rejected {
		put("rejected", "true")
	}
	return b, nil
}

// Decode reads a stored record. Names it does not know are skipped: a newer version may have
// written them.
func Decode(b []byte) (*Record, error) {
	var r Record
	for n := 1; len(b) > 0; n++ {
		line, rest, complete := bytes.Cut(b, []byte{'\n'})
		if !complete {
			return nil, fmt.Errorf("record line %d is cut short", n)
		}
		b = rest
		name, quoted, ok := strings.Cut(string(line), "=")
		if !ok {
			return nil, fmt.Errorf("record line %d has no '='", n)
		}
		value, err := strconv.Unquote(quoted)
		if err != nil || quoted == "" || quoted[0] != '"' {
			return nil, fmt.Errorf("record line %d: the value of %s is not a quoted string", n, name)
		}
		if err := r.set(name, value); err != nil {
			return nil, fmt.Errorf("record line %d: %w", n, err)
		}
	}
	return &r, nil
}

func (r *Record) set(name, value string) error {
	for _, f := range stringFields {
		if f.name == name {
			*f.field(r) = value
			return nil
		}
	}
	for _, f := range timeFields {
		if f.name == name {
			t, err := time.Parse(time.RFC3339Nano, value)
			if err != nil {
				return fmt.Errorf("%s is not a time", name)
			}
			*f.field(r) = t
			return nil
		}
	}
	if name == "rejected" {
		if value != "true" {
			return errors.New("rejected is not true")
		}
		r.Rejected = true
	}
	return nil
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
