package patmgr

import (
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
)

// String names an action in the tables' messages.
func (a action) String() string {
	return [...]string{"serve", "renew", "fall back", "create", "replace", "keep"}[a]
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	const renewBefore = 48 * time.Hour
	const client = "0D3F8A52-5C1E-4A5B-9D0E-7F6A1B2C3D4E"
	pat := func(validTo time.Duration, edit func(*cache.Record)) *cache.Record {
		r := &cache.Record{Kind: cache.KindPAT, Org: "fabrikam", Token: "secret", AuthorizationID: "id-1",
			ValidFrom: now.Add(-30 * 24 * time.Hour), ValidTo: now.Add(validTo)}
		if edit != nil {
			edit(r)
		}
		return r
	}
	entra := func(validTo time.Duration, reason string) *cache.Record {
		return &cache.Record{Kind: cache.KindEntra, Org: "fabrikam", PolicyError: reason, ValidFrom: now.Add(validTo - policyRecheck), ValidTo: now.Add(validTo)}
	}
	for _, tt := range []struct {
		name string
		rec  *cache.Record
		want action
	}{
		{"nothing stored", nil, create},
		{"a PAT outside its renewal window", pat(7*24*time.Hour, nil), serve},
		{"a PAT inside its renewal window", pat(time.Hour, nil), renew},
		{"a PAT whose window starts now", pat(renewBefore, nil), renew},
		{"an expired PAT", pat(-time.Minute, nil), replace},
		{"a PAT git's erase rejected", pat(7*24*time.Hour, func(r *cache.Record) { r.Rejected = true }), replace},
		{"an expired PAT with no id", pat(-time.Minute, func(r *cache.Record) { r.AuthorizationID = "" }), create},
		{"a PAT record without its secret", pat(7*24*time.Hour, func(r *cache.Record) { r.Token = "" }), replace},
		{"a short-lived PAT renews in the middle of its life", pat(3*time.Hour, func(r *cache.Record) { r.ValidFrom = now.Add(-time.Hour) }), serve},
		{"a day's fallback for a policy", entra(time.Hour, "disablePatCreationPolicyViolation"), fallBack},
		{"a fallback whose day is over", entra(-time.Minute, "disablePatCreationPolicyViolation"), create},
		{"a fallback for this client", entra(time.Hour, clientRefusedReason(client)), fallBack},
		{"a fallback for another client", entra(time.Hour, clientRefusedReason(config.DefaultClientID)), create},
	} {
		if got := decide(tt.rec, now, renewBefore, client); got != tt.want {
			t.Errorf("%s: decide = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestAfterRenewalFailure(t *testing.T) {
	for _, tt := range []struct {
		rejected bool
		id       string
		want     action
	}{
		{false, "id-1", keep},   // the PAT still works: serve it until it expires
		{true, "id-1", replace}, // the service no longer knows it or will not extend it
		{true, "", create},      // nothing to revoke
	} {
		rec := &cache.Record{Kind: cache.KindPAT, Token: "secret", AuthorizationID: tt.id, Rejected: tt.rejected}
		if got := afterRenewalFailure(rec); got != tt.want {
			t.Errorf("after a failed renewal of a PAT with Rejected %v and id %q: %s, want %s", tt.rejected, tt.id, got, tt.want)
		}
	}
}
