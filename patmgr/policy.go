package patmgr

import (
	"strings"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
)

// action is what a get does with the stored record.
type action int

const (
	serve    action = iota // hand out the stored PAT as it is
	renew                  // extend the stored PAT, which is in its renewal window
	fallBack               // hand out the Entra access token: no PAT can be had for now
	create                 // make a PAT: there is none worth keeping
	replace                // make a PAT, then revoke the stored one
	keep                   // after a failed renewal: hand out the stored PAT until it expires
)

// decide is the policy for the record stored for a remote: serve it, renew it, fall back to the
// Entra token, or make a new PAT. clientID is the sign-in's client, which a fallback for a refused
// client is bound to.
func decide(rec *cache.Record, now time.Time, renewBefore time.Duration, clientID string) action {
	switch {
	case rec.Servable(now, renewBefore):
		return serve
	case rec != nil && rec.Kind == cache.KindEntra && fallbackHolds(rec, clientID) && now.Before(rec.ValidTo):
		return fallBack
	case rec.Alive(now):
		// Renew it silently if we can, and otherwise keep serving it until it expires rather
		// than prompting early (afterRenewalFailure).
		return renew
	case rec != nil && rec.AuthorizationID != "":
		return replace
	}
	return create
}

// afterRenewalFailure decides what a failed renewal leaves: a PAT the service no longer knows or
// will not extend (renew marks it Rejected) is replaced; any other still works, and is kept.
func afterRenewalFailure(rec *cache.Record) action {
	switch {
	case !rec.Rejected:
		return keep
	case rec.AuthorizationID != "":
		return replace
	}
	return create
}

// policyRecheck is how long an organisation's "no PATs" answer is trusted before trying again.
const policyRecheck = 24 * time.Hour

// clientRefused starts the record's reason for a fallback when the PAT API refused even a fresh
// token: the sign-in's client lacks the PAT scopes. The client's id follows it.
const clientRefused = "patApiRefusedClient"

func clientRefusedReason(clientID string) string {
	return clientRefused + ":" + strings.ToLower(clientID)
}

// fallbackHolds reports whether rec, a day's fallback to the Entra token, still stands. One for
// another client than this one does not: a user who registered an app should get the PAT at once.
func fallbackHolds(rec *cache.Record, clientID string) bool {
	return !strings.HasPrefix(rec.PolicyError, clientRefused) || rec.PolicyError == clientRefusedReason(clientID)
}
