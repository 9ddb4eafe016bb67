package patmgr

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdo"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/redact"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/statelock"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// Status describes one organisation's cached credential, for `status`.
type Status struct {
	Org             string    `json:"org"`
	Host            string    `json:"host"`
	Account         string    `json:"account"`
	Kind            string    `json:"kind"`  // pat, or entra when a policy forbids PATs
	State           string    `json:"state"` // valid, renewal-due, expired, rejected, missing
	Scope           string    `json:"scope,omitempty"`
	AuthorizationID string    `json:"authorizationId,omitempty"`
	ValidTo         time.Time `json:"validTo,omitzero"`
	ExpiresIn       string    `json:"expiresIn,omitempty"` // "in 5 days"
	RenewAt         time.Time `json:"renewAt,omitzero"`
	Store           string    `json:"store"`
	SilentRenewal   bool      `json:"silentRenewal"` // a cached sign-in can renew without a prompt
	Tenant          string    `json:"tenant,omitempty"`
}

// Status reports every organisation this tool holds a credential for. It reads the index and the
// store, and never the network.
func (m *Manager) Status(ctx context.Context) ([]Status, error) {
	ix, err := m.index().load()
	if err != nil {
		return nil, err
	}
	accounts := m.cachedAccounts(ctx)
	now := m.now()
	var out []Status
	for _, key := range slices.Sorted(maps.Keys(ix)) {
		r := ix[key]
		st := Status{Org: r.Org, Host: r.Host, Account: r.Account, Kind: r.Kind, Scope: r.Scope, AuthorizationID: r.AuthorizationID,
			Store: m.store.Describe(), Tenant: r.Tenant, SilentRenewal: accounts[strings.ToLower(r.Account)]}
		if r.Kind == cache.KindPAT {
			st.ValidTo, st.RenewAt, st.ExpiresIn = r.ValidTo, r.RenewAt(m.cfg.RenewBefore), humanTime(r.ValidTo, now)
		}
		stored, err := m.load(ctx, key)
		switch {
		case err != nil:
			return nil, err
		case stored == nil:
			st.State = "missing"
		case stored.Rejected:
			st.State = "rejected"
		case stored.Kind == cache.KindEntra:
			st.State = "valid"
		case !now.Before(stored.ValidTo):
			st.State = "expired"
		case !stored.Servable(now, m.cfg.RenewBefore):
			st.State = "renewal-due"
		default:
			st.State = "valid"
		}
		out = append(out, st)
	}
	return out, nil
}

// SignedIn reports whether MSAL's cache holds a sign-in for this service's authority and client.
func (m *Manager) SignedIn(ctx context.Context) bool { return len(m.cachedAccounts(ctx)) > 0 }

// cachedAccounts lists the accounts MSAL's cache can sign in silently, by lower-cased user name.
func (m *Manager) cachedAccounts(ctx context.Context) map[string]bool {
	if m.init() != nil {
		return map[string]bool{}
	}
	return m.signer.Accounts(ctx)
}

// Login signs in with method (config.LoginBrowser, config.LoginDevice, or "" for what the environment allows)
// even when a cached sign-in exists, then makes sure org has a PAT. With org "", it only signs in.
func (m *Manager) Login(ctx context.Context, t Target, method string) (Status, error) {
	if err := m.init(); err != nil {
		return Status{}, err
	}
	tenant, account := cmp.Or(m.cfg.Tenant, config.TenantOrganizations), t.Account
	if t.Org != "" {
		var err error
		if tenant, account, _, err = m.identity(ctx, t, nil); err != nil {
			return Status{}, err
		}
	}
	tok, err := m.signer.SignIn(ctx, t.Org, tenant, account, method)
	if err != nil {
		return Status{}, err
	}
	if t.Org == "" {
		return Status{Account: tok.Account, Tenant: tenant, SilentRenewal: true}, nil
	}
	// t keeps the account only if the user named one: git's requests for a plain remote URL look
	// the PAT up under the organisation alone.
	if _, err := m.Credential(ctx, t); err != nil {
		return Status{}, err
	}
	all, err := m.Status(ctx)
	if err != nil {
		return Status{}, err
	}
	if i := slices.IndexFunc(all, func(s Status) bool { return s.Org == t.Org }); i >= 0 {
		return all[i], nil
	}
	return Status{}, fmt.Errorf("no credential recorded for %s", t.Org)
}

// RenewResult says what Renew did for one organisation.
type RenewResult struct {
	Org     string    `json:"org"`
	Account string    `json:"account,omitempty"` // for a PAT a remote asked for by account
	Action  string    `json:"action"`            // not-due, renewed, replaced, failed
	ValidTo time.Time `json:"validTo,omitzero"`
	Err     error     `json:"-"`
}

// Renew renews (or replaces) the PATs of orgs that are inside their renewal window, never
// prompting. orgs nil means every organisation in the index. A needed sign-in is an error that
// wraps ErrSignInRequired.
func (m *Manager) Renew(ctx context.Context, orgs []string) ([]RenewResult, error) {
	targets, err := m.targets(orgs)
	if err != nil {
		return nil, err
	}
	var out []RenewResult
	var errs []error
	for _, t := range targets {
		res := RenewResult{Org: t.Org, Account: t.Account, Action: "failed"}
		if res.Err = m.renewOne(ctx, t, &res); res.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.Org, res.Err))
		}
		out = append(out, res)
	}
	return out, errors.Join(errs...)
}

// renewOne renews t's PAT if it is due, and notes in res what it did.
func (m *Manager) renewOne(ctx context.Context, t Target, res *RenewResult) error {
	key := m.key(t)
	l, err := statelock.Acquire(ctx, m.cfg.StateDir, key)
	if err != nil {
		return err
	}
	defer l.Unlock()
	rec, err := m.load(ctx, key)
	if err != nil {
		return err
	}
	if rec.Servable(m.now(), m.cfg.RenewBefore) {
		m.settlePending(ctx, t, key, rec)
		res.Action, res.ValidTo = "not-due", rec.ValidTo
		return nil
	}
	before := ""
	if rec != nil {
		before = rec.AuthorizationID
	}
	if _, err := m.refresh(ctx, t, key, rec, false); err != nil {
		return err
	}
	after, err := m.load(ctx, key)
	if err != nil || after == nil {
		return err
	}
	res.Action, res.ValidTo = "renewed", after.ValidTo
	if after.AuthorizationID != before {
		res.Action = "replaced"
	}
	return nil
}

// settlePending sweeps the PATs an earlier run could not settle for key, if any, when there is
// no renewal to do it after: renew from cron then settles them within a day, not at the next
// create or renewal weeks later. It signs in silently only, and a failure waits for the next run.
func (m *Manager) settlePending(ctx context.Context, t Target, key string, rec *cache.Record) {
	if names, err := m.pending(key).names(); err == nil && len(names) == 0 {
		return // else the sweep below settles the names, or says why it cannot
	}
	tenant, account, _, err := m.identity(ctx, t, rec)
	if err == nil {
		_, err = m.withToken(ctx, t.Org, tenant, account, false, func(bearer string) error {
			return m.sweepPending(ctx, key, t.Org, bearer, rec)
		})
	}
	if err != nil {
		m.trace.Printf("settling unconfirmed PATs of %s: %v", t.Org, err)
	}
}

// LogoutResult says what Logout did for one organisation.
type LogoutResult struct {
	Org     string `json:"org"`
	Revoked bool   `json:"revoked"`
	Note    string `json:"note,omitempty"`
}

// Logout revokes this tool's PATs for orgs (nil: all) and deletes their secrets. With all, the
// cached sign-in goes too. A PAT that cannot be revoked (even with a refreshed token) keeps its
// record, and with it the cached sign-in, so that the next logout or renew can try again; the
// result says so.
func (m *Manager) Logout(ctx context.Context, orgs []string, all bool) ([]LogoutResult, error) {
	if err := m.init(); err != nil {
		return nil, err
	}
	ix, err := m.index().load()
	if err != nil {
		return nil, err
	}
	var out []LogoutResult
	var errs []error
	unrevoked := false
	for _, key := range slices.Sorted(maps.Keys(ix)) {
		r := ix[key]
		if r.Host != m.cfg.ServiceHost() || (!all && !listed(orgs, r.Org)) {
			continue
		}
		res := LogoutResult{Org: r.Org}
		if stored, err := m.load(ctx, key); err == nil && stored != nil && stored.AuthorizationID != "" {
			_, err := m.withToken(ctx, r.Org, r.Tenant, r.Account, false, func(bearer string) error {
				return m.az.RevokePAT(ctx, r.Org, bearer, stored.AuthorizationID)
			})
			if err != nil && !isNotFound(err) {
				res.Note = fmt.Sprintf("not revoked (%s): it stops working %s; run logout again later, or revoke it in the Azure DevOps web page", oneLine(err), stored.ValidTo.Local().Format(time.DateTime))
				unrevoked = true
				out = append(out, res)
				continue
			}
			res.Revoked = true
		}
		if err := m.store.Delete(ctx, key); err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, m.index().drop(ctx, key))
		out = append(out, res)
	}
	if all {
		errs = append(errs, store.RemoveTempCopies(ctx, m.store))
		if !unrevoked { // a PAT left to revoke needs the sign-in for the next try
			errs = append(errs, m.signer.SignOut(ctx))
		}
	}
	for _, o := range orgs {
		if !slices.ContainsFunc(out, func(r LogoutResult) bool { return strings.EqualFold(r.Org, o) }) {
			errs = append(errs, fmt.Errorf("nothing cached for %s", o))
		}
	}
	return out, errors.Join(errs...)
}

func isNotFound(err error) bool {
	var perr *azdo.PATError
	return errors.As(err, &perr) && perr.Code == "authorizationNotFound"
}

// ListedPAT is a PAT as `list` shows it.
type ListedPAT struct {
	azdo.PAT
	MadeByThisTool bool `json:"madeByThisTool"`
	Cached         bool `json:"cached"` // the one git is being given now
}

// List returns the signed-in user's PATs in org from the service, every page. filter is active,
// revoked, expired or all.
func (m *Manager) List(ctx context.Context, t Target, filter string) ([]ListedPAT, error) {
	var pats []azdo.PAT
	err := m.patAPICall(ctx, t, func(bearer string) (err error) {
		pats, err = m.az.ListPATs(ctx, t.Org, bearer, filter)
		return err
	})
	if err != nil {
		return nil, err
	}
	cached := m.remembered(t)
	out := make([]ListedPAT, 0, len(pats))
	for _, p := range pats {
		p.Token = ""
		out = append(out, ListedPAT{PAT: p, MadeByThisTool: strings.HasPrefix(p.DisplayName, DisplayNamePrefix+" "),
			Cached: cached.AuthorizationID != "" && p.AuthorizationID == cached.AuthorizationID})
	}
	return out, nil
}

// Revoke revokes one PAT by authorization ID, and forgets it if it is the cached one.
func (m *Manager) Revoke(ctx context.Context, t Target, id string) error {
	if !config.IsGUID(id) {
		return fmt.Errorf("%q is not an authorization ID (a GUID): see '%s'", id, CommandLine(&m.cfg, "list", t.Org))
	}
	err := m.patAPICall(ctx, t, func(bearer string) error { return m.az.RevokePAT(ctx, t.Org, bearer, id) })
	if err != nil {
		return fmt.Errorf("revoking %s in %s: %w", id, t.Org, err)
	}
	key := m.key(t)
	l, err := statelock.Acquire(ctx, m.cfg.StateDir, key)
	if err != nil {
		return err
	}
	defer l.Unlock()
	if rec, err := m.load(ctx, key); err == nil && rec != nil && strings.EqualFold(rec.AuthorizationID, id) {
		if err := m.store.Delete(ctx, key); err != nil {
			return err
		}
		return m.index().drop(ctx, key)
	}
	return nil
}

// patAPICall signs in for t, prompting if need be, and calls the PAT API with the token (see
// withToken); a refused fresh token says what would give access.
func (m *Manager) patAPICall(ctx context.Context, t Target, call func(bearer string) error) error {
	tenant, account, _, err := m.identity(ctx, t, nil)
	if err != nil {
		return err
	}
	_, err = m.withToken(ctx, t.Org, tenant, account, true, call)
	if azdo.TokenRefused(err) {
		why, fix := m.clientRefusal(err)
		return errors.New(why + fix)
	}
	return err
}

// Orgs lists the signed-in user's organisations through the profile and accounts APIs.
func (m *Manager) Orgs(ctx context.Context, account string) ([]azdo.Org, error) {
	if err := m.init(); err != nil {
		return nil, err
	}
	var orgs []azdo.Org
	_, err := m.withToken(ctx, "", cmp.Or(m.cfg.Tenant, config.TenantOrganizations), account, true, func(bearer string) (err error) {
		orgs, err = m.az.Orgs(ctx, bearer)
		return err
	})
	return orgs, err
}

// targets is what renew works on: every PAT in the index for the named organisations (all of
// them without names), whichever account keys it, and a first one for a named organisation
// with none.
func (m *Manager) targets(orgs []string) ([]Target, error) {
	ix, err := m.index().load()
	if err != nil {
		return nil, err
	}
	var ts []Target
	for _, key := range slices.Sorted(maps.Keys(ix)) {
		if r := ix[key]; r.Host == m.cfg.ServiceHost() && (len(orgs) == 0 || listed(orgs, r.Org)) {
			t := Target{Org: r.Org}
			if key != cache.Key(r.Host, r.Org, "") { // a remote named the account
				t.Account = r.Account
			}
			ts = append(ts, t)
		}
	}
	// A named organisation with nothing stored yet gets its first PAT.
	for _, o := range orgs {
		if o := strings.ToLower(o); !slices.ContainsFunc(ts, func(t Target) bool { return t.Org == o }) {
			ts = append(ts, Target{Org: o})
		}
	}
	return ts, nil
}

// listed reports whether orgs, in any case, names org, which the index holds in lower case.
func listed(orgs []string, org string) bool {
	return slices.ContainsFunc(orgs, func(o string) bool { return strings.EqualFold(o, org) })
}

// Store returns the secret store, for doctor.
func (m *Manager) Store() store.Store { return m.store }

// oneLine keeps a multi-line error (MSAL's HTTP error dumps) to its first line, safe to print.
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	// It may carry the service's own words, and is printed where the command goes on.
	return redact.Line(s)
}

// CommandLine is a command for a message to tell the user to run: the program, words, then every
// setting of cfg that differs from its default, so that the command reaches the same service,
// sign-in and store as the one that failed, whatever gave it its settings (a helper line, AZDO_*
// variables, flags). How to sign in, and how much to say, are the new command's own choice.
func CommandLine(cfg *config.Config, words ...string) string {
	def, cur := config.Defaults(), *cfg
	if dir, err := config.DefaultStateDir(); err == nil && cur.StateDir == dir {
		cur.StateDir = ""
	}
	defs, curs := flag.NewFlagSet("", flag.ContinueOnError), flag.NewFlagSet("", flag.ContinueOnError)
	def.RegisterFlags(defs)
	cur.RegisterFlags(curs)
	parts := append([]string{DisplayNamePrefix}, words...)
	curs.VisitAll(func(f *flag.Flag) {
		switch f.Name {
		case "login", "username", "trace", "timeout":
			return
		}
		if v := f.Value.String(); v != defs.Lookup(f.Name).Value.String() {
			parts = append(parts, "--"+f.Name+"="+shellQuote(v))
		}
	})
	return strings.Join(parts, " ")
}

// shellPlain are the characters no shell reads specially.
const shellPlain = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:@%+,~=-"

// shellQuote quotes with double quotes, which POSIX shells, PowerShell and cmd all read, because
// messages put commands in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, shellPlain) == "" {
		return s
	}
	return `"` + strings.NewReplacer(`"`, `\"`, `$`, `\$`, "`", "\\`").Replace(s) + `"`
}

// signInCommand is what every "cannot prompt here" message tells the user to run.
func signInCommand(cfg *config.Config, args ...string) string {
	return CommandLine(cfg, append([]string{"login"}, args...)...)
}
