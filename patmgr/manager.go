// Package patmgr turns an Entra ID sign-in into a narrowly scoped Azure DevOps PAT, keeps it in the
// OS keyring, and renews or replaces it before git notices. Manager.Credential is the whole policy.
package patmgr

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdo"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/redact"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/signin"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/statelock"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/trace"
)

// ErrSignInRequired means a sign-in is needed and this process may not or cannot ask for one.
var ErrSignInRequired = signin.ErrRequired

// Version is stamped into records and display names; main sets it from build info.
var Version = "dev"

// DisplayNamePrefix starts the name of every PAT this tool creates, so list can mark them and a
// lost create can be found again.
const DisplayNamePrefix = "git-credential-azdo"

// Target and Credential are the cache's: a get served from the cache and one that signs in speak
// the same types.
type (
	Target     = cache.Target
	Credential = cache.Credential
)

// Manager is the helper's policy: serve a cached PAT when it is good, otherwise sign in (silently
// when it can), renew or create the PAT under a per-organisation lock, and store it.
type Manager struct {
	cfg    config.Config
	store  store.Store
	env    signin.Environment
	stderr io.Writer
	trace  *trace.Tracer
	now    func() time.Time

	// Built on first use, so the cached path never pays for them.
	initOnce sync.Once
	initErr  error
	az       *azdo.Client
	signer   *signin.Signer
}

// Options carries a Manager's dependencies; zero fields get the real ones.
type Options struct {
	Store  store.Store         // nil: the one cfg.Store names
	Env    *signin.Environment // nil: signin.HostEnvironment()
	Stderr io.Writer           // nil: os.Stderr
	Now    func() time.Time
}

// New validates cfg and returns a Manager. It does no I/O beyond opening a file store.
func New(cfg config.Config, opts Options) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.ResolveStateDir(); err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, store: opts.Store, stderr: opts.Stderr, now: opts.Now}
	if m.stderr == nil {
		m.stderr = os.Stderr
	}
	if m.now == nil {
		m.now = time.Now
	}
	if opts.Env != nil {
		m.env = *opts.Env
	} else {
		m.env = signin.HostEnvironment()
	}
	if cfg.Trace {
		m.trace = trace.New(m.stderr) // nil traces nothing
	}
	switch {
	case m.store != nil:
	case cfg.Store == "file": // never chosen unless asked for
		s, err := store.NewFile(cmp.Or(cfg.StoreFile, filepath.Join(cfg.StateDir, "credentials")))
		if err != nil {
			return nil, err
		}
		m.store = s
	default:
		m.store = store.NewKeyring(config.KeyringService, cfg.KeyringTimeout)
	}
	return m, nil
}

func (m *Manager) init() error {
	m.initOnce.Do(func() {
		m.az, m.initErr = azdo.NewClient(&m.cfg, http.ProxyFromEnvironment, m.trace)
		if m.initErr != nil {
			return
		}
		login := func(args ...string) string { return signInCommand(&m.cfg, args...) }
		m.signer = signin.New(&m.cfg, m.az, m.store, m.env, m.stderr, m.trace, login)
	})
	return m.initErr
}

func (m *Manager) index() index { return index{dir: m.cfg.StateDir} }

func (m *Manager) key(t Target) string { return cache.Key(m.cfg.ServiceHost(), t.Org, t.Account) }

// load returns the stored record for key, or nil when there is none.
func (m *Manager) load(ctx context.Context, key string) (*cache.Record, error) {
	r, err := cache.Load(ctx, m.store, key)
	if r != nil {
		redact.Hide(r.Token)
	}
	return r, err
}

func (m *Manager) save(ctx context.Context, key string, r *cache.Record) error {
	r.UpdatedAt = m.now().UTC()
	r.CreatedBy = DisplayNamePrefix + " " + Version
	b, err := cache.Encode(r)
	if err != nil {
		return err
	}
	if err := m.store.Set(ctx, key, b); err != nil {
		return fmt.Errorf("saving the PAT for %s: %w", r.Org, err)
	}
	if err := m.index().put(ctx, key, *r); err != nil {
		m.trace.Printf("updating the index: %v", err)
	}
	return nil
}

// Credential returns a credential for t. The common case, a stored PAT outside its renewal
// window, is one store look-up: no lock, no network, no MSAL.
func (m *Manager) Credential(ctx context.Context, t Target) (Credential, error) {
	key := m.key(t)
	if cred, ok, err := cache.Lookup(ctx, m.store, key, m.cfg.RenewBefore, m.now()); ok || err != nil {
		if ok {
			m.trace.Printf("serving the stored PAT (%s), which expires %s", key, humanTime(cred.Expires, m.now()))
		}
		return cred, err
	}
	// A process holding the lock is most likely making this very PAT (git runs helpers in
	// parallel, IDEs fetch many repositories at once): wait for it, then serve its result.
	waited, err := statelock.WaitUnlocked(ctx, m.cfg.StateDir, key)
	if err != nil {
		return Credential{}, err
	}
	if waited {
		if cred, ok, err := cache.Lookup(ctx, m.store, key, m.cfg.RenewBefore, m.now()); ok || err != nil {
			return cred, err
		}
	}
	l, err := statelock.Acquire(ctx, m.cfg.StateDir, key)
	if err != nil {
		return Credential{}, err
	}
	defer l.Unlock()
	// Another process may have done the work while this one waited for the lock.
	rec, err := m.load(ctx, key)
	if err != nil {
		return Credential{}, err
	}
	return m.refresh(ctx, t, key, rec, true)
}

// refresh serves, renews, replaces or creates the PAT for t. The caller holds t's lock. Without
// prompt, a needed interactive sign-in is an ErrSignInRequired error instead.
func (m *Manager) refresh(ctx context.Context, t Target, key string, rec *cache.Record, prompt bool) (Credential, error) {
	act := decide(rec, m.now(), m.cfg.RenewBefore, m.cfg.ClientID)
	if act == serve {
		return rec.Credential(), nil
	}
	tenant, account, guessed, err := m.identity(ctx, t, rec)
	if err != nil {
		return Credential{}, err
	}
	// git met a claims challenge (continuous access evaluation) with the token it was given: get
	// one with those claims into the cache before anything uses it.
	if claims := azdo.ClaimsFromChallenges(t.Challenges); claims != "" {
		if _, err := m.freshToken(ctx, t.Org, tenant, account, claims, prompt); err != nil {
			return Credential{}, err
		}
	}

	switch act {
	case fallBack:
		claims := ""
		if rec.Rejected {
			// git refused the token MSAL holds, and no new one could be had then
			// (rejectAccessToken): not that one again, but a refreshed token or a new sign-in.
			claims = signin.RefreshClaims
		}
		tok, err := m.signer.Token(ctx, t.Org, tenant, account, claims, prompt)
		if err != nil {
			return Credential{}, err
		}
		if rec.Rejected || rec.TenantGuessed && !guessed {
			rec.Rejected, rec.Tenant, rec.TenantGuessed = false, tenant, guessed
			if err := m.save(ctx, key, rec); err != nil {
				return Credential{}, err
			}
		}
		return Credential{Password: tok.Token, Expires: tok.ExpiresOn, Bearer: true}, nil
	case renew:
		bearer, err := m.renew(ctx, key, rec, tenant, account, guessed)
		if err == nil {
			_ = m.sweepPending(ctx, key, rec.Org, bearer, rec) // what it cannot settle waits for the next run
			return rec.Credential(), nil
		}
		if act = afterRenewalFailure(rec); act == keep {
			switch {
			case errors.Is(err, ErrSignInRequired) && !prompt:
				return Credential{}, err
			case errors.Is(err, ErrSignInRequired):
				fmt.Fprintf(m.stderr, "git-credential-azdo: the PAT for %s expires %s and cannot be renewed without a sign-in: run '%s'\n",
					rec.Org, humanTime(rec.ValidTo, m.now()), signInCommand(&m.cfg, rec.Org))
			case !prompt:
				// renew, from cron or a timer: the PAT works, but the job must see that it failed.
				return Credential{}, fmt.Errorf("renewing the PAT for %s, which expires %s: %w", rec.Org, humanTime(rec.ValidTo, m.now()), err)
			default:
				m.trace.Printf("renewing the PAT for %s failed (%v); serving it as it is", rec.Org, err)
			}
			return rec.Credential(), nil
		}
	}

	var pat azdo.PAT
	tok, err := m.withToken(ctx, t.Org, tenant, account, prompt, func(bearer string) (err error) {
		if pat, err = m.settleAndMint(ctx, key, t.Org, bearer, rec); err != nil && !azdo.TokenRefused(err) {
			err = fmt.Errorf("creating a PAT for %s: %w", t.Org, err)
		}
		return err
	})
	var perr *azdo.PATError
	switch {
	case azdo.TokenRefused(err): // even a fresh token: the PAT API will not serve this client
		why, fix := m.clientRefusal(err)
		return m.fallback(ctx, key, t, rec, tenant, guessed, tok, clientRefusedReason(m.cfg.ClientID), why, fix)
	case errors.As(err, &perr) && perr.IsPolicy():
		why := fmt.Sprintf("%s does not allow this PAT (%s)", t.Org, perr.Code)
		return m.fallback(ctx, key, t, rec, tenant, guessed, tok, perr.Code, why, "")
	case err != nil:
		return Credential{}, err
	}
	next := &cache.Record{
		Kind: cache.KindPAT, Host: m.cfg.ServiceHost(), Org: t.Org, Account: tok.Account, HomeAccountID: tok.HomeID,
		Tenant: tenant, TenantGuessed: guessed, AuthorizationID: pat.AuthorizationID, Token: pat.Token, Scope: pat.Scope,
		DisplayName: pat.DisplayName, ValidFrom: pat.ValidFrom, ValidTo: pat.ValidTo,
	}
	pending := m.pending(key)
	if err := m.supersede(ctx, key, rec, next, tok.Token); err != nil {
		// The new PAT cannot be kept, so it must not outlive this process either; its name stays
		// noted should this revoke fail.
		if m.revokeQuietly(ctx, t.Org, tok.Token, pat.AuthorizationID) {
			pending.remove(pat.DisplayName)
		}
		return Credential{}, err
	}
	// Only this create is settled: names an earlier run left, which the sweep could not settle
	// this time, stay for the next one.
	pending.remove(pat.DisplayName)
	return next.Credential(), nil
}

// supersede saves next under key in place of old, and revokes old if it is a PAT of the same
// account: a PAT the store no longer holds must not stay active. Its name is noted before the
// save, so that the next sweep revokes it should this revoke fail or this process end first
// (should the save fail instead, the sweep spares it: it is still the stored one).
func (m *Manager) supersede(ctx context.Context, key string, old, next *cache.Record, bearer string) error {
	retire := old != nil && old.Kind == cache.KindPAT && old.AuthorizationID != "" &&
		old.AuthorizationID != next.AuthorizationID && strings.EqualFold(old.Account, next.Account)
	pending := m.pending(key)
	if retire && old.DisplayName != "" {
		if err := pending.add(old.DisplayName); err != nil {
			return fmt.Errorf("noting the PAT about to be replaced for %s: %w: nothing is replaced until the state directory can be written", next.Org, err)
		}
	}
	if err := m.save(ctx, key, next); err != nil {
		return err
	}
	if retire && m.revokeQuietly(ctx, next.Org, bearer, old.AuthorizationID) {
		pending.remove(old.DisplayName)
	}
	return nil
}

// renew extends rec with the update call, signing in silently only, and returns the access
// token it used. When the service no longer knows the PAT or will not extend it, rec is marked
// Rejected so that the caller replaces it.
func (m *Manager) renew(ctx context.Context, key string, rec *cache.Record, tenant, account string, guessed bool) (string, error) {
	var pat azdo.PAT
	tok, err := m.withToken(ctx, rec.Org, tenant, account, false, func(bearer string) (err error) {
		pat, err = m.az.RenewPAT(ctx, rec.Org, bearer, rec.AuthorizationID, m.now().Add(m.cfg.Lifetime))
		return err
	})
	var perr *azdo.PATError
	if errors.As(err, &perr) && perr.IsGone() {
		rec.Rejected = true
	}
	if err != nil {
		return "", err
	}
	rec.ValidTo, rec.ValidFrom = pat.ValidTo, pat.ValidFrom
	rec.Tenant, rec.TenantGuessed = tenant, guessed
	return tok.Token, m.save(ctx, key, rec)
}

// withToken signs in for org and makes call with the access token. MSAL may hold one that looks
// valid but that the service no longer takes: when call is refused, the refresh token is redeemed
// once for another try. It returns the token used last and the sign-in's or call's error.
func (m *Manager) withToken(ctx context.Context, org, tenant, account string, prompt bool, call func(bearer string) error) (signin.Token, error) {
	tok, err := m.signer.Token(ctx, org, tenant, account, "", prompt)
	if err != nil {
		return tok, err
	}
	if err = call(tok.Token); !azdo.TokenRefused(err) {
		return tok, err
	}
	if tok, err = m.freshToken(ctx, org, tenant, tok.Account, azdo.Claims(err), prompt); err != nil {
		return tok, err
	}
	return tok, call(tok.Token)
}

// mint creates a PAT. A create whose answer is lost may still have made one, whose secret is then
// lost with it: find it by its unique display name and revoke it before trying again, so that
// exactly one PAT results. The name is written down before each create and crossed out once the
// outcome is known, so that a create this process could not settle (the check failed too, the
// deadline passed, the process was killed) is settled by the next one (sweepPending).
func (m *Manager) mint(ctx context.Context, key, org, bearer string) (azdo.PAT, error) {
	var lastErr error
	pending := m.pending(key)
	for attempt := 0; attempt < 3; attempt++ {
		name := m.displayName(org)
		if err := pending.add(name); err != nil {
			// Unnoted, a create whose answer is lost would leave a PAT nobody could find.
			return azdo.PAT{}, fmt.Errorf("noting the PAT about to be created for %s: %w: no PAT is made until the state directory can be written", org, err)
		}
		pat, err := m.az.CreatePAT(ctx, org, bearer, name, m.cfg.Scope, m.now().Add(m.cfg.Lifetime))
		if err == nil {
			if problem := unusable(pat, m.now()); problem != "" {
				// A PAT git cannot be handed must not outlive this answer; should the revoke
				// fail, its name stays noted for the next run's sweep.
				outcome := "the next run revokes it"
				if pat.AuthorizationID != "" && m.revokeQuietly(ctx, org, bearer, pat.AuthorizationID) {
					pending.remove(name)
					outcome = "it is revoked"
				}
				return azdo.PAT{}, fmt.Errorf("the PAT API created a PAT for %s but answered with %s, so it is not kept (%s): try again, and report it if it persists", org, problem, outcome)
			}
			return pat, nil // crossed out by the caller once the PAT is saved
		}
		if azdo.Refused(err) { // it made nothing: there is no PAT to look for
			pending.remove(name)
			return azdo.PAT{}, err
		}
		lastErr = err
		if ctx.Err() != nil {
			return azdo.PAT{}, err // no time left to check: the next run does
		}
		m.trace.Printf("creating a PAT for %s failed unclearly (%v); checking whether it was made", org, err)
		if err := m.revokeByName(ctx, org, bearer, map[string]bool{name: true}, ""); err != nil {
			return azdo.PAT{}, fmt.Errorf("%w (and checking for a half-made PAT failed: %v; the next run checks again)", lastErr, err)
		}
		pending.remove(name)
	}
	return azdo.PAT{}, lastErr
}

// maxSecret keeps "password=" and the secret within git's 65,535-byte line.
const maxSecret = 65535 - len("password=")

// unusable says what is wrong with a created PAT that must not be kept: a secret git's protocol
// cannot carry, or a life already over (served as is, it would be replaced on every get).
func unusable(pat azdo.PAT, now time.Time) string {
	switch {
	case pat.AuthorizationID == "":
		return "no authorization id"
	case pat.Token == "":
		return "no secret"
	case strings.ContainsAny(pat.Token, "\r\n\x00") || len(pat.Token) > maxSecret:
		return "a secret git cannot be handed (a line break, a NUL, or too long)"
	case !pat.ValidTo.After(now):
		return "a validTo that has already passed"
	}
	return ""
}

// sweepPending revokes the PATs an earlier run could not settle (creates whose outcome it did not
// learn, replaced PATs it did not revoke), sparing the one the stored record holds (a run killed
// after saving but before crossing out its name). It runs before a create and after a renewal.
// It returns why names are still unsettled, if they are: a create must not follow then. A
// journal that cannot be read is that error as it is: waiting would not mend it.
func (m *Manager) sweepPending(ctx context.Context, key, org, bearer string, rec *cache.Record) error {
	pending := m.pending(key)
	names, err := pending.names()
	if err != nil || len(names) == 0 {
		return err
	}
	keep := ""
	if rec != nil {
		keep = rec.AuthorizationID
	}
	m.trace.Printf("checking for %d PAT(s) of %s whose creation was not confirmed", len(names), org)
	if err := m.revokeByName(ctx, org, bearer, names, keep); err != nil {
		m.trace.Printf("checking for unconfirmed PATs of %s: %v", org, err)
		if azdo.TokenRefused(err) {
			return err // for the caller to refresh
		}
		return fmt.Errorf("an earlier PAT creation for %s is not settled, and checking for it failed (%w), so no new PAT is made: try again in a few minutes", org, err)
	}
	pending.clear()
	return nil
}

// settleAndMint creates a PAT once no earlier create is unsettled: a create whose answer was lost
// may have made a PAT, and another create on top could leave two. A refused token is returned as
// it is, for the caller to refresh.
func (m *Manager) settleAndMint(ctx context.Context, key, org, bearer string, rec *cache.Record) (azdo.PAT, error) {
	if err := m.sweepPending(ctx, key, org, bearer, rec); err != nil {
		return azdo.PAT{}, err
	}
	return m.mint(ctx, key, org, bearer)
}

// revokeByName revokes the active PATs whose display name is in names, except keep.
func (m *Manager) revokeByName(ctx context.Context, org, bearer string, names map[string]bool, keep string) error {
	pats, err := m.az.ListPATs(ctx, org, bearer, "active")
	if err != nil {
		return err
	}
	for _, p := range pats {
		if names[p.DisplayName] && (keep == "" || !strings.EqualFold(p.AuthorizationID, keep)) {
			if err := m.az.RevokePAT(ctx, org, bearer, p.AuthorizationID); err != nil {
				return err
			}
		}
	}
	return nil
}

// revokeQuietly revokes a PAT this run no longer keeps, and reports whether it is gone.
func (m *Manager) revokeQuietly(ctx context.Context, org, bearer, id string) bool {
	err := m.az.RevokePAT(ctx, org, bearer, id)
	if err == nil || isNotFound(err) {
		return true
	}
	m.trace.Printf("revoking the PAT %s of %s: %v (the next run tries again)", id, org, err)
	return false
}

// displayName tells the user, in the Azure DevOps web page, what made this PAT and where; the
// random suffix makes each create attempt findable.
func (m *Manager) displayName(org string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	var nonce [4]byte
	rand.Read(nonce[:])
	return fmt.Sprintf("%s on %s for %s (%s)", DisplayNamePrefix, host, org, hex.EncodeToString(nonce[:]))
}

// clientRefusal says why a fresh token was refused and what would give PATs.
func (m *Manager) clientRefusal(err error) (why, fix string) {
	why = fmt.Sprintf("the PAT API refused a fresh sign-in of client %s (%s)", m.cfg.ClientID, oneLine(err))
	fix = "register an app with the Azure DevOps permissions vso.pats_manage and vso.code_write and pass its id with --client-id"
	if !strings.EqualFold(m.cfg.ClientID, config.DefaultClientID) {
		fix = "give app " + m.cfg.ClientID + " the Azure DevOps permissions vso.pats_manage and vso.code_write"
	}
	return why, "; for PATs, " + fix + " (README: Your own app registration)"
}

// fallback serves the Entra access token itself when no PAT can be had: the organisation forbids
// it, or the PAT API will not serve this client. Azure DevOps accepts the token as the Basic
// password; it lasts about an hour, and silent refresh renews it. why (and fix, if any) is
// said once, and the PAT is tried again a day later. A stored PAT it takes the place of is revoked,
// as a replaced one is.
func (m *Manager) fallback(ctx context.Context, key string, t Target, old *cache.Record, tenant string, guessed bool, tok signin.Token, reason, why, fix string) (Credential, error) {
	fmt.Fprintf(m.stderr, "git-credential-azdo: %s; using your Entra ID sign-in token instead, renewed silently%s\n", why, fix)
	rec := &cache.Record{Kind: cache.KindEntra, Host: m.cfg.ServiceHost(), Org: t.Org, Account: tok.Account, HomeAccountID: tok.HomeID,
		Tenant: tenant, TenantGuessed: guessed, PolicyError: reason, ValidFrom: m.now(), ValidTo: m.now().Add(policyRecheck)}
	if err := m.supersede(ctx, key, old, rec, tok.Token); err != nil {
		return Credential{}, err
	}
	return Credential{Password: tok.Token, Expires: tok.ExpiresOn, Bearer: true}, nil
}

// freshToken redeems the refresh token even though MSAL holds an access token that looks valid,
// because the service did not take it. With the claims of a challenge, the new token carries
// them; if the refresh token cannot give them (the sessions were revoked), the normal sign-in
// does, when prompt allows one.
func (m *Manager) freshToken(ctx context.Context, org, tenant, account, claims string, prompt bool) (signin.Token, error) {
	who := cmp.Or(org, "Azure DevOps") // orgs asks for no organisation in particular
	if claims == "" {
		m.trace.Printf("%s refused the cached access token; refreshing it", who)
		return m.signer.Token(ctx, org, tenant, account, signin.RefreshClaims, false)
	}
	m.trace.Printf("%s asks for a new token with more claims (continuous access evaluation)", who)
	return m.signer.Token(ctx, org, tenant, account, claims, prompt)
}

// remembered returns what the index knows about t's organisation, from any record of it.
func (m *Manager) remembered(t Target) cache.Record {
	ix, err := m.index().load()
	if err != nil {
		return cache.Record{}
	}
	if r, ok := ix[m.key(t)]; ok {
		return r
	}
	for _, k := range slices.Sorted(maps.Keys(ix)) {
		if r := ix[k]; r.Host == m.cfg.ServiceHost() && r.Org == t.Org && (t.Account == "" || strings.EqualFold(r.Account, t.Account)) {
			return r
		}
	}
	return cache.Record{}
}

// identity resolves, in one place for every sign-in for t, the Entra ID tenant to sign in to and
// the account to sign in as: the remote's, else the one last used for its organisation. guessed
// says the tenant is a failed discovery's guess, which a record must not keep as the answer.
// stored, if not nil, is t's record, which remembers before the index (a copy, of any account).
func (m *Manager) identity(ctx context.Context, t Target, stored *cache.Record) (tenant, account string, guessed bool, err error) {
	if err := m.init(); err != nil {
		return "", "", false, err
	}
	var known cache.Record
	if stored != nil && stored.Tenant != "" {
		known = *stored
	} else {
		known = m.remembered(t)
	}
	tenant, guessed, err = m.tenant(ctx, t, known)
	return tenant, cmp.Or(t.Account, known.Account), guessed, err
}

// tenant decides which Entra ID tenant to sign in to for t: configured, else named by git's
// challenge, else remembered, else asked of the organisation. A remembered guess is no answer: the
// organisation is asked again, and while it does not answer the multi-tenant endpoint is guessed.
func (m *Manager) tenant(ctx context.Context, t Target, known cache.Record) (tenant string, guessed bool, err error) {
	if m.cfg.Tenant != "" {
		return m.cfg.Tenant, false, nil
	}
	for _, c := range t.Challenges {
		if tenant, ok := azdo.TenantFromChallenge(c, m.cfg.Authority); ok {
			return tenant, false, nil
		}
	}
	if known.Tenant != "" && !known.TenantGuessed {
		return known.Tenant, false, nil
	}
	tenant, err = m.az.Tenant(ctx, t.Org)
	if err != nil && ctx.Err() == nil {
		m.trace.Printf("%v; signing in through %s", err, config.TenantOrganizations)
		return config.TenantOrganizations, true, nil
	}
	return tenant, false, err // an error only out of time: it says where, not the next step
}

// Reject handles git's erase: the server refused password. The stored PAT is marked for
// replacement only if it is that password, so a stale erase from another process cannot drop a
// PAT that was renewed or replaced in the meantime.
func (m *Manager) Reject(ctx context.Context, t Target, password string) error {
	key := m.key(t)
	rec, err := m.load(ctx, key)
	if err == nil && rec != nil && rec.Kind == cache.KindEntra {
		return m.rejectAccessToken(ctx, t, rec, password)
	}
	if err != nil || !rec.Holds(password) || rec.Rejected {
		return err
	}
	return m.markRejected(ctx, key, func(r *cache.Record) bool { return r.Holds(password) })
}

// markRejected marks key's record Rejected if still holds for it as read again under its lock:
// another process may have renewed or replaced it meanwhile.
func (m *Manager) markRejected(ctx context.Context, key string, still func(*cache.Record) bool) error {
	l, err := statelock.Acquire(ctx, m.cfg.StateDir, key)
	if err != nil {
		return err
	}
	defer l.Unlock()
	rec, err := m.load(ctx, key)
	if err != nil || rec == nil || !still(rec) {
		return err
	}
	rec.Rejected = true
	return m.save(ctx, key, rec)
}

// rejectAccessToken handles git's erase of the Entra access token a fallback record hands out:
// continuous access evaluation can void it long before it expires, and MSAL would keep serving
// it. If it is still MSAL's token, a new one (with the claims of a challenge git passed on, if
// any) replaces it now, silently, for the next get.
func (m *Manager) rejectAccessToken(ctx context.Context, t Target, rec *cache.Record, password string) error {
	if err := m.init(); err != nil {
		return err
	}
	cached, err := m.signer.Token(ctx, t.Org, rec.Tenant, rec.Account, "", false)
	if err != nil || cached.Token != password {
		return nil // nothing cached to replace, or git refused an older token
	}
	_, err = m.freshToken(ctx, t.Org, rec.Tenant, rec.Account, azdo.ClaimsFromChallenges(t.Challenges), false)
	if !errors.Is(err, ErrSignInRequired) {
		return err
	}
	// Only a new sign-in can replace it, which an erase may not prompt for: the record is marked,
	// so that the next get does not hand out the refused token again but signs in.
	return m.markRejected(ctx, m.key(t), func(r *cache.Record) bool { return r.Kind == cache.KindEntra })
}

func humanTime(t, now time.Time) string {
	d := t.Sub(now).Abs()
	// Rounded to the nearest unit, not down: a 30-day PAT made a second ago expires "in 30 days".
	var s string
	switch {
	case d < time.Minute:
		s = "less than a minute"
	case d.Round(time.Minute) < time.Hour:
		s = plural(int(d.Round(time.Minute)/time.Minute), "minute")
	case d.Round(time.Hour) < 48*time.Hour:
		s = plural(int(d.Round(time.Hour)/time.Hour), "hour")
	default:
		s = plural(int(d.Round(24*time.Hour)/(24*time.Hour)), "day")
	}
	if t.Before(now) {
		return s + " ago"
	}
	return "in " + s
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
