package patmgr

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/signin"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// emulated is a Manager against the emulator, on the emulator's clock, with a file store and a
// password sign-in: the policy's tests need no keyring, browser or terminal.
type emulated struct {
	*Manager
	srv    *azdotest.Server
	target Target
}

func newEmulated(t *testing.T, change func(*config.Config)) *emulated {
	t.Helper()
	return newEmulatedWith(t, azdotest.Options{}, change, nil)
}

// newEmulatedWith also sets the emulator's options, and wraps the store if wrap is not nil.
func newEmulatedWith(t *testing.T, opts azdotest.Options, change func(*config.Config), wrap func(store.Store) store.Store) *emulated {
	t.Helper()
	testenv.SkipOnWindows(t, "git (Git for Windows), which the emulator serves repositories with")
	opts.Dir, opts.AutoApprove = testenv.TempDir(t), true
	srv, err := azdotest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cfg := config.Defaults()
	cfg.ServiceURL, cfg.Authority, cfg.CAFile = srv.URL, srv.URL, srv.CAFile
	cfg.StateDir = testenv.TempDir(t)
	cfg.Store, cfg.StoreFile = "file", filepath.Join(cfg.StateDir, "credentials")
	cfg.Login, cfg.Username, cfg.Password = config.LoginPassword, srv.User, srv.Password
	if change != nil {
		change(&cfg)
	}
	st, err := store.NewFile(cfg.StoreFile)
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		st = wrap(st)
	}
	none := signin.Environment{Getenv: func(string) string { return "" }, HasTerminal: func() bool { return false }, HasBrowser: func() bool { return false }}
	m, err := New(cfg, Options{Store: st, Env: &none, Stderr: io.Discard, Now: srv.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &emulated{Manager: m, srv: srv, target: Target{Org: srv.Org}}
}

// get is git's get: a credential for the emulator's organisation.
func (e *emulated) get(t *testing.T) Credential {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := e.Credential(ctx, e.target)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	return c
}

func (e *emulated) fault(t *testing.T, f azdotest.Fault) {
	t.Helper()
	if err := e.srv.InjectFault(f); err != nil {
		t.Fatal(err)
	}
}

// active counts the organisation's PATs the service still takes.
func (e *emulated) active() int {
	n := 0
	for _, p := range e.srv.PATs() {
		if p.Status == "active" {
			n++
		}
	}
	return n
}

// A PAT whose life is no longer than the renewal window (an organisation's cap, a short
// --lifetime) is renewed in the middle of its life. After a renewal that middle is measured from
// the renewal, not from when the PAT was first made: otherwise every get renewed it again.
func TestShortLivedPATIsRenewedOncePerHalfLife(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy time.Duration // the organisation's cap; 0 for none
		change func(*config.Config)
		life   time.Duration
	}{
		{"organisation caps at 7 days", 7 * 24 * time.Hour, nil, 7 * 24 * time.Hour},
		{"--lifetime=24h", 0, func(c *config.Config) { c.Lifetime = 24 * time.Hour }, 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEmulated(t, tc.change)
			if tc.policy != 0 {
				if err := e.srv.SetPolicy(e.srv.Org, azdotest.Policy{MaxLifespan: tc.policy}); err != nil {
					t.Fatal(err)
				}
			}
			e.get(t)
			for step := 1; step <= 8; step++ { // gets every eighth of a life, over two lives
				e.srv.Advance(tc.life / 8)
				for range 3 {
					e.get(t)
				}
			}
			c := e.srv.Counters()
			// Due at 4/8 of the first life; renewed there for a life from then, due again 4/8 later.
			if c.PATsCreated != 1 || c.PATsRenewed != 2 {
				t.Fatalf("over two lives with gets every eighth: %d created, %d renewals; want 1 and 2", c.PATsCreated, c.PATsRenewed)
			}
		})
	}
}

func (e *emulated) pendingNames(t *testing.T) map[string]bool {
	return e.pending(e.key(e.target)).mustNames(t)
}

// statusFaults makes the next n calls to endpoint answer status.
func (e *emulated) statusFaults(t *testing.T, endpoint string, status, n int) {
	t.Helper()
	e.fault(t, azdotest.Fault{Endpoint: endpoint, Kind: azdotest.FaultStatus, Status: status, Count: n})
}

// A create whose answer was lost, which neither that run nor the next could check for (the list
// failed both times), blocks another create: the next get fails with one line and makes nothing,
// and the first get whose check works revokes the lost PAT before making one. At no point are two
// of this tool's PATs active.
func TestUnsettledCreateBlocksAnotherCreate(t *testing.T) {
	e := newEmulated(t, nil)
	e.fault(t, azdotest.Fault{Endpoint: "pats.create", Kind: azdotest.FaultTruncate})
	e.statusFaults(t, "pats.list", 503, 4) // every attempt of the check
	ctx := context.Background()
	if _, err := e.Credential(ctx, e.target); err == nil {
		t.Fatal("a get whose create and check both failed succeeded")
	}
	lost := e.pendingNames(t)
	if len(lost) != 1 || e.active() != 1 {
		t.Fatalf("after the lost create: pending %v, %d active; want the one made, noted", lost, e.active())
	}
	e.statusFaults(t, "pats.list", 503, 4) // the next run's check fails too
	_, err := e.Credential(ctx, e.target)
	if err == nil || !strings.Contains(err.Error(), "is not settled") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("get with an unsettled create: %v, want one line saying no new PAT is made", err)
	}
	if c := e.srv.Counters(); c.PATsCreated != 1 || e.active() != 1 || !e.pendingNames(t)[firstKey(lost)] {
		t.Fatalf("%d created, %d active, pending %v; want nothing new and the lost create still noted", c.PATsCreated, e.active(), e.pendingNames(t))
	}
	e.get(t)
	if c := e.srv.Counters(); c.PATsCreated != 2 || c.PATsRevoked != 1 || e.active() != 1 || len(e.pendingNames(t)) != 0 {
		t.Fatalf("after a get whose check works: %d created, %d revoked, %d active, pending %v; want the lost one revoked and one made",
			c.PATsCreated, c.PATsRevoked, e.active(), e.pendingNames(t))
	}
}

// replaceFailingTheRevoke has git reject the PAT, and the next get replace it while the old
// one's revoke fails: it stays active, and noted.
func (e *emulated) replaceFailingTheRevoke(t *testing.T) {
	t.Helper()
	old := e.get(t)
	if err := e.Reject(context.Background(), e.target, old.Password); err != nil {
		t.Fatal(err)
	}
	e.statusFaults(t, "pats.revoke", 503, 4)
	if e.get(t).Password == old.Password {
		t.Fatal("a rejected PAT was served again")
	}
	if e.active() != 2 || len(e.pendingNames(t)) != 1 {
		t.Fatalf("after a failed revoke: %d active, pending %v; want the old one active and noted", e.active(), e.pendingNames(t))
	}
}

// renew, from cron, settles what an earlier run left unsettled even when no renewal is due.
func TestRenewSettlesUnsettledPATsWhenNothingIsDue(t *testing.T) {
	e := newEmulated(t, nil)
	e.replaceFailingTheRevoke(t)
	res, err := e.Renew(context.Background(), nil)
	if err != nil || len(res) != 1 || res[0].Action != "not-due" {
		t.Fatalf("renew: %+v, %v", res, err)
	}
	if e.active() != 1 || len(e.pendingNames(t)) != 0 {
		t.Fatalf("after renew: %d active, pending %v; want the old one revoked", e.active(), e.pendingNames(t))
	}
}

// A replaced PAT that could not be revoked is noted, and revoked by a later sweep.
func TestReplacedPATIsRevokedLaterWhenItsRevokeFails(t *testing.T) {
	e := newEmulated(t, nil)
	e.replaceFailingTheRevoke(t)
	e.srv.Advance(config.DefaultLifetime - config.DefaultRenewBefore + time.Hour)
	e.get(t)
	if e.active() != 1 || len(e.pendingNames(t)) != 0 {
		t.Fatalf("after the renewal's sweep: %d active, pending %v; want 1 and none", e.active(), e.pendingNames(t))
	}
}

func firstKey(m map[string]bool) string {
	for k := range m {
		return k
	}
	return ""
}

// renew (for cron) reports a renewal that failed as failed, not as renewed; the PAT stays.
func TestRenewReportsAFailedRenewal(t *testing.T) {
	e := newEmulated(t, nil)
	first := e.get(t)
	e.srv.Advance(config.DefaultLifetime - config.DefaultRenewBefore + time.Hour)
	e.statusFaults(t, "pats.update", 503, 4)
	ctx := context.Background()
	res, err := e.Renew(ctx, nil)
	if err == nil || len(res) != 1 || res[0].Action != "failed" || !strings.Contains(err.Error(), "renewing the PAT for contoso, which expires in") {
		t.Fatalf("renew with the update failing: %+v, %v; want one failed result and its reason", res, err)
	}
	if res, err := e.Renew(ctx, nil); err != nil || len(res) != 1 || res[0].Action != "renewed" {
		t.Fatalf("renew again: %+v, %v", res, err)
	}
	if c := e.srv.Counters(); c.PATsRenewed != 1 || c.PATsCreated != 1 || e.get(t).Password != first.Password {
		t.Fatalf("want the one PAT renewed once: %+v", c)
	}
}

// renew ORG renews each of the organisation's PATs however it is stored: one a remote asked for
// by account is keyed by the account too, beside the one for remotes that name none.
func TestRenewOrgFindsEveryPATOfTheOrganisation(t *testing.T) {
	e := newEmulated(t, nil)
	e.get(t)
	e.target.Account = e.srv.User
	e.get(t)
	e.srv.Advance(config.DefaultLifetime - config.DefaultRenewBefore + time.Hour)
	res, err := e.Renew(context.Background(), []string{"CONTOSO"})
	if err != nil || len(res) != 2 || res[0].Action != "renewed" || res[1].Action != "renewed" || res[0].Account != "" || res[1].Account != e.srv.User {
		t.Fatalf("renew contoso: %+v, %v; want both renewed, the second named by its account", res, err)
	}
	if c := e.srv.Counters(); c.PATsCreated != 2 || c.PATsRenewed != 2 || e.active() != 2 {
		t.Fatalf("want the two PATs renewed, got %d created, %d renewed, %d active", c.PATsCreated, c.PATsRenewed, e.active())
	}
}

// failingWrites is a store whose writes under a key prefix fail, as a keyring that stops
// answering would.
type failingWrites struct {
	store.Store
	prefix string
	fail   atomic.Bool
}

func (f *failingWrites) Set(ctx context.Context, key string, value []byte) error {
	if f.fail.Load() && strings.HasPrefix(key, f.prefix) {
		return store.ErrTimeout
	}
	return f.Store.Set(ctx, key, value)
}

// A keyring that fails under MSAL's token cache is the keyring's problem: the get says so, and
// does not start a new sign-in, which would meet the same keyring (and open a browser for it).
func TestSignInCacheFailureIsNotASignInFailure(t *testing.T) {
	var st *failingWrites
	e := newEmulatedWith(t, azdotest.Options{AccessTokenLifetime: time.Minute}, nil, func(s store.Store) store.Store {
		st = &failingWrites{Store: s, prefix: "msal:"}
		return st
	})
	ctx := context.Background()
	first := e.get(t)
	if err := e.Reject(ctx, e.target, first.Password); err != nil {
		t.Fatal(err)
	}
	st.fail.Store(true) // the next token refresh cannot be saved
	_, err := e.Credential(ctx, e.target)
	if !errors.Is(err, store.ErrTimeout) || errors.Is(err, ErrSignInRequired) || !strings.Contains(err.Error(), "saving the sign-in cache") {
		t.Fatalf("get with the sign-in cache failing: %v; want the keyring's timeout, not a sign-in required", err)
	}
	if g := e.srv.Counters().Grants; g["password"] != 1 {
		t.Fatalf("grants %v: want only the first sign-in", g)
	}
}

// A create the service refuses with a 4xx made nothing, so there is nothing to look for: a 429
// is tried again after its Retry-After, any other refusal ends the get at once.
func TestRefusedCreateIsNotLookedFor(t *testing.T) {
	t.Run("429", func(t *testing.T) {
		e := newEmulated(t, nil)
		e.fault(t, azdotest.Fault{Endpoint: "pats.create", Kind: azdotest.FaultStatus, Status: 429, RetryAfter: time.Second, Count: 2})
		start := time.Now()
		e.get(t)
		took := time.Since(start)
		c := e.srv.Counters()
		if c.Requests["pats.create"] != 3 || c.Requests["pats.list"] != 0 || c.PATsCreated != 1 || took < 2*time.Second {
			t.Fatalf("after two 429s asking for a second each: %d creates, %d lists, %d made, in %v; want 3, 0, 1, at least 2s",
				c.Requests["pats.create"], c.Requests["pats.list"], c.PATsCreated, took)
		}
	})
	t.Run("400", func(t *testing.T) {
		e := newEmulated(t, nil)
		e.statusFaults(t, "pats.create", 400, 1)
		_, err := e.Credential(context.Background(), e.target)
		c := e.srv.Counters()
		if err == nil || !strings.Contains(err.Error(), "HTTP 400") || c.Requests["pats.create"] != 1 || c.Requests["pats.list"] != 0 || len(e.pendingNames(t)) != 0 {
			t.Fatalf("a 400: %v, %d creates, %d lists, pending %v; want the error, one create, no list, nothing noted",
				err, c.Requests["pats.create"], c.Requests["pats.list"], e.pendingNames(t))
		}
	})
	t.Run("408, which a gateway may send after the service made the PAT", func(t *testing.T) {
		e := newEmulated(t, nil)
		e.statusFaults(t, "pats.create", http.StatusRequestTimeout, 1)
		e.get(t)
		if c := e.srv.Counters(); c.Requests["pats.list"] == 0 || c.PATsCreated != 1 {
			t.Fatalf("after a 408: %d lists, %d made; want it looked for, and one PAT made", c.Requests["pats.list"], c.PATsCreated)
		}
	})
}

// failedToReadTenantPolicy says the service could not read the organisation's policies, not that
// they forbid the PAT: the get fails with what to do, nothing is remembered, and the next get,
// once the service reads them again, makes the PAT. A policy that does forbid it falls back to
// the Entra token.
func TestUnreadPolicyIsNotAPolicy(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusBadRequest} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			e := newEmulated(t, nil)
			e.fault(t, azdotest.Fault{Endpoint: "pats.create", Kind: azdotest.FaultPATError, Code: "failedToReadTenantPolicy", Status: status})
			_, err := e.Credential(context.Background(), e.target)
			if err == nil || !strings.Contains(err.Error(), "failedToReadTenantPolicy") || !strings.Contains(err.Error(), "try again in a few minutes") {
				t.Fatalf("get while the service cannot read the policies: %v, want the refusal and what to do", err)
			}
			if rec, err := e.load(context.Background(), e.key(e.target)); err != nil || rec != nil {
				t.Fatalf("after the refusal the store holds a record (%v), want nothing", err)
			}
			if c := e.get(t); c.Password == "" || e.srv.Counters().PATsCreated != 1 {
				t.Fatalf("the next get: %d PATs made, want 1", e.srv.Counters().PATsCreated)
			}
		})
	}
	t.Run("renewal", func(t *testing.T) {
		e := newEmulated(t, nil)
		e.get(t)
		e.srv.Advance(config.DefaultLifetime - config.DefaultRenewBefore + time.Hour)
		e.fault(t, azdotest.Fault{Endpoint: "pats.update", Kind: azdotest.FaultPATError, Code: "failedToReadTenantPolicy"})
		if _, err := e.Renew(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "try again in a few minutes") {
			t.Fatalf("renew while the service cannot read the policies: %v, want the refusal and what to do", err)
		}
	})
	t.Run("a policy", func(t *testing.T) {
		e := newEmulated(t, nil)
		e.fault(t, azdotest.Fault{Endpoint: "pats.create", Kind: azdotest.FaultPATError, Code: "disablePatCreationPolicyViolation", Status: http.StatusBadRequest})
		e.get(t)
		if rec, err := e.load(context.Background(), e.key(e.target)); err != nil || rec == nil || rec.Kind != cache.KindEntra {
			t.Fatalf("after a policy refusal the store holds %v (%v), want the Entra fallback", kindOf(rec), err)
		}
	})
}

// The PAT API's words about a refusal the get goes on after (a fallback to the Entra token) reach
// the terminal as one safe line: a hostile or broken service cannot send terminal control.
func TestRefusalTextIsOneSafeLine(t *testing.T) {
	e := newEmulated(t, nil)
	var stderr bytes.Buffer
	e.stderr = &stderr
	e.fault(t, azdotest.Fault{Endpoint: "pats.create", Kind: azdotest.FaultPATError, Code: "accessDenied", Count: 2,
		Message: "denied\x1b]0;pwned\x07\x1b[2J\nsecond line"})
	if c := e.get(t); !c.Bearer {
		t.Fatalf("a refused client got no fallback to the Entra token")
	}
	out := stderr.String()
	if strings.ContainsAny(out, "\x1b\x07") || strings.Contains(out, "second line") || !strings.Contains(out, "(Azure DevOps refused: denied]0;pwned[2J); using your Entra ID sign-in token") {
		t.Fatalf("stderr %q, want the refusal on one line without terminal control", out)
	}
}

// A stored PAT that a fallback takes the place of is revoked as a replaced one is: once the store
// holds the Entra record, nothing else would ever revoke it.
func TestFallbackRevokesThePATItReplaces(t *testing.T) {
	e := newEmulated(t, nil)
	first := e.get(t)
	if err := e.Reject(context.Background(), e.target, first.Password); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.SetPolicy(e.srv.Org, azdotest.Policy{DisablePATCreation: true}); err != nil {
		t.Fatal(err)
	}
	if c := e.get(t); !c.Bearer {
		t.Fatal("no fallback to the Entra token when the organisation forbids PATs")
	}
	if n := e.active(); n != 0 || e.srv.Counters().PATsRevoked != 1 {
		t.Fatalf("after the fallback: %d PATs active, %d revoked; want the replaced one revoked", n, e.srv.Counters().PATsRevoked)
	}
	if names := e.pendingNames(t); len(names) != 0 {
		t.Fatalf("names left noted: %v", names)
	}
}

// An organisation policy that the settings can satisfy (no full-access PATs) fails the get with
// the setting to change: handing git the Entra token would give it more than the PAT the
// organisation just refused.
func TestPolicyTheSettingsCanSatisfy(t *testing.T) {
	e := newEmulated(t, func(c *config.Config) { c.Scope = "app_token" })
	if err := e.srv.SetPolicy(e.srv.Org, azdotest.Policy{RestrictFullScope: true}); err != nil {
		t.Fatal(err)
	}
	_, err := e.Credential(context.Background(), e.target)
	if err == nil || !strings.Contains(err.Error(), "fullScopePatPolicyViolation") || !strings.Contains(err.Error(), "choose narrower scopes with --scope") {
		t.Fatalf("get with a full-access scope the organisation forbids: %v, want the refusal and the setting to change", err)
	}
	if rec, err := e.load(context.Background(), e.key(e.target)); err != nil || rec != nil {
		t.Fatalf("after the refusal the store holds %v (%v), want nothing", kindOf(rec), err)
	}
	e.cfg.Scope = "vso.code_write"
	if c := e.get(t); c.Bearer || e.srv.Counters().PATsCreated != 1 {
		t.Fatalf("with a narrower scope: bearer %v, %d PATs made, want one PAT", c.Bearer, e.srv.Counters().PATsCreated)
	}
	// The lifespan cap, which the service mostly applies by shortening the PAT, may refuse too.
	l := newEmulated(t, nil)
	l.fault(t, azdotest.Fault{Endpoint: "pats.create", Kind: azdotest.FaultPATError, Code: "patLifespanPolicyViolation", Status: http.StatusBadRequest})
	if _, err := l.Credential(context.Background(), l.target); err == nil || !strings.Contains(err.Error(), "lower --lifetime") {
		t.Fatalf("get refused for its lifetime: %v, want the refusal and the setting to change", err)
	}
}

// kindOf names what a record is, for failure messages that must not print its token.
func kindOf(rec *cache.Record) string {
	if rec == nil {
		return "no record"
	}
	return "a " + rec.Kind + " record"
}

// orgs --account names which signed-in account lists its organisations; the cached sign-in
// serves it without a new one.
func TestOrgsForAnAccount(t *testing.T) {
	e := newEmulated(t, nil)
	e.get(t)
	before := e.srv.Counters()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	orgs, err := e.Orgs(ctx, e.srv.User)
	if err != nil {
		t.Fatal(err)
	}
	after := e.srv.Counters()
	if len(orgs) != 1 || orgs[0].Name != e.srv.Org || after.Grants["password"] != before.Grants["password"] {
		t.Fatalf("orgs %v after %d more password sign-ins; want %s, from the cached sign-in", orgs, after.Grants["password"]-before.Grants["password"], e.srv.Org)
	}
}

// A claims challenge from the profile API (continuous access evaluation) is answered as the PAT
// API's is: a token with those claims from the refresh token, with no new sign-in.
func TestOrgsAnswersAClaimsChallengeSilently(t *testing.T) {
	e := newEmulated(t, nil)
	e.get(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := e.Orgs(ctx, e.srv.User); err != nil { // MSAL now holds a token for this authority
		t.Fatal(err)
	}
	if err := e.srv.ChallengeSessions(e.srv.User); err != nil {
		t.Fatal(err)
	}
	before := e.srv.Counters()
	orgs, err := e.Orgs(ctx, e.srv.User)
	after := e.srv.Counters()
	if err != nil || len(orgs) != 1 {
		t.Fatalf("orgs after a critical event: %v, %v", orgs, err)
	}
	if after.Grants["password"] != before.Grants["password"] || after.Grants["refresh_token"] != before.Grants["refresh_token"]+1 {
		t.Fatalf("grants before %v, after %v: want one refresh and no sign-in", before.Grants, after.Grants)
	}
}
