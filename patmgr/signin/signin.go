// Package signin signs the user in to Entra ID through MSAL Go: silently from a token cache kept
// in the secret store, or by the one interactive method this environment allows.
package signin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdo"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/redact"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/statelock"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/trace"
	"github.com/pkg/browser"
)

// Token is an Entra ID access token for the Azure DevOps resource and the account it belongs to.
type Token struct {
	Token     string
	ExpiresOn time.Time
	Account   string // user principal name, e.g. alice@contoso.com
	HomeID    string // MSAL home account ID, stable across renames
}

// ErrRequired means a sign-in is needed and this process may not or cannot ask for one.
var ErrRequired = errors.New("sign-in required")

// Signer signs the user in. Every MSAL client it makes shares one token cache persisted in the
// store, so a refresh token obtained once serves every organisation and every later process; its
// use is serialised across processes by the state directory's "msal" lock.
type Signer struct {
	cfg    *config.Config
	http   *azdo.Client
	cache  *msalCache
	trace  *trace.Tracer
	prompt io.Writer                   // stderr: MSAL's device-code message and browser notices
	env    Environment                 // BROWSER, and whether a device code can be read
	login  func(args ...string) string // the command that signs in ahead of time, for messages
}

// New returns a Signer for cfg's authority and client, keeping MSAL's token cache in st. login
// words the command a "cannot prompt here" error tells the user to run.
func New(cfg *config.Config, client *azdo.Client, st store.Store, env Environment, prompt io.Writer, tr *trace.Tracer, login func(args ...string) string) *Signer {
	key := "msal:" + strings.ToLower(cfg.Authority) + ":" + cfg.ClientID
	return &Signer{cfg: cfg, http: client, cache: &msalCache{store: st, key: key}, trace: tr, prompt: prompt, env: env, login: login}
}

// Token signs in for org ("" for none in particular): silently from the cache, else (with
// prompt) by the method this environment permits. With claims (RefreshClaims, or those of a
// claims challenge) the refresh token is redeemed even if the cached access token looks valid.
func (s *Signer) Token(ctx context.Context, org, tenant, account, claims string, prompt bool) (Token, error) {
	l, err := statelock.Acquire(ctx, s.cfg.StateDir, "msal")
	if err != nil {
		return Token{}, err
	}
	defer l.Unlock()
	tok, err := s.silent(ctx, tenant, account, claims)
	if err == nil || !prompt || !errors.Is(err, ErrRequired) {
		return tok, err // a failed network or keyring would fail a new sign-in too
	}
	s.trace.Printf("silent sign-in for %s: %v", cmp.Or(org, "your organisations"), err)
	return s.interactive(ctx, org, tenant, account, "", claims)
}

// SignIn signs in interactively even when a cached sign-in exists, with method
// (config.LoginBrowser, config.LoginDevice, config.LoginPassword, or "" for what the environment
// allows).
func (s *Signer) SignIn(ctx context.Context, org, tenant, account, method string) (Token, error) {
	l, err := statelock.Acquire(ctx, s.cfg.StateDir, "msal")
	if err != nil {
		return Token{}, err
	}
	defer l.Unlock()
	return s.interactive(ctx, org, tenant, account, method, "")
}

// Accounts lists the accounts the cache can sign in silently, by lower-cased user name.
func (s *Signer) Accounts(ctx context.Context) map[string]bool {
	found := map[string]bool{}
	c, err := s.client(config.TenantOrganizations)
	if err != nil {
		return found
	}
	accts, err := c.Accounts(ctx)
	if err != nil {
		return found
	}
	for _, a := range accts {
		found[strings.ToLower(a.PreferredUsername)] = true
	}
	return found
}

// SignOut forgets every cached account: the refresh tokens go with them.
func (s *Signer) SignOut(ctx context.Context) error {
	return s.cache.store.Delete(ctx, s.cache.key)
}

// errNoBrowser means the browser could not be started: no opener, or it failed.
var errNoBrowser = errors.New("the browser could not be started")

func (s *Signer) client(tenant string) (public.Client, error) {
	return public.New(s.cfg.ClientID,
		public.WithAuthority(s.cfg.AuthorityURL(tenant)),
		public.WithCache(s.cache),
		public.WithHTTPClient(s.http),
		// Only Microsoft's or configured authorities reach here; discovery would be one more
		// round trip to login.microsoftonline.com on every cold start, and fails for the emulator.
		public.WithInstanceDiscovery(false),
		// This client answers claims challenges (continuous access evaluation), so Entra may
		// issue it long-lived tokens that Azure DevOps revokes at once when it must.
		public.WithClientCapabilities([]string{"cp1"}),
	)
}

// RefreshClaims makes MSAL skip its cached access token and redeem the refresh token. It asks for
// no claim: MSAL merges the cp1 capability in, and would refuse a second copy of it.
const RefreshClaims = `{"access_token":{}}`

// silent returns a token from the cache, refreshing it with the cached refresh token if needed.
func (s *Signer) silent(ctx context.Context, tenant, account, claims string) (Token, error) {
	c, err := s.client(tenant)
	if err != nil {
		return Token{}, err
	}
	accounts, err := c.Accounts(ctx)
	if err != nil {
		return Token{}, err // a signInCacheError
	}
	acct, ok := pickAccount(accounts, account, tenant)
	if !ok {
		return Token{}, fmt.Errorf("%w: no cached sign-in for %s", ErrRequired, cmp.Or(account, "any account"))
	}
	res, err := c.AcquireTokenSilent(ctx, s.cfg.Scopes(), public.WithSilentAccount(acct), public.WithClaims(claims))
	var cacheErr *signInCacheError
	if errors.As(err, &cacheErr) {
		// The keyring failed, not the sign-in: a new one would meet the same keyring.
		return Token{}, fmt.Errorf("refreshing the sign-in of %s: %w", acct.PreferredUsername, err)
	}
	if err != nil {
		if transient(err) {
			return Token{}, fmt.Errorf("refreshing the sign-in of %s: %s", acct.PreferredUsername, s.explain(err, tenant))
		}
		return Token{}, fmt.Errorf("%w: the cached sign-in of %s no longer works: %s", ErrRequired, acct.PreferredUsername, s.explain(err, tenant))
	}
	return s.result(res), nil
}

// interactive signs in with the given method, or with the one chooseMethod allows for org when
// it is ""; claims, when not "", are those a claims challenge asked for.
func (s *Signer) interactive(ctx context.Context, org, tenant, account, method, claims string) (Token, error) {
	var err error
	if method == "" {
		if method, err = chooseMethod(ctx, s.cfg, s.env, org, s.login); err != nil {
			return Token{}, err
		}
	}
	c, err := s.client(tenant)
	if err != nil {
		return Token{}, err
	}
	var res public.AuthResult
	if method == config.LoginBrowser {
		// A launcher that fails after openBrowser returned ends the wait through abort.
		wait, abort := context.WithCancelCause(ctx)
		openURL := func(u string) error { return s.openBrowser(u, abort) }
		// An empty account or claims is MSAL's default: no hint, no claims.
		res, err = c.AcquireTokenInteractive(wait, s.cfg.Scopes(), public.WithOpenURL(openURL), public.WithLoginHint(account), public.WithClaims(claims))
		if cause := context.Cause(wait); err != nil && errors.Is(cause, errNoBrowser) {
			err = cause
		}
		abort(nil)
		if errors.Is(err, errNoBrowser) && s.env.HasTerminal() {
			fmt.Fprintf(s.prompt, "git-credential-azdo: %v; signing in with a device code instead\n", err)
			method = config.LoginDevice
		}
	}
	switch method {
	case config.LoginBrowser:
		// Signed in above, or failed with no terminal for a device code.
	case config.LoginDevice:
		var dc public.DeviceCode
		dc, err = c.AcquireTokenByDeviceCode(ctx, s.cfg.Scopes(), public.WithClaims(claims))
		if err == nil {
			// The message is the server's text: one safe line, then what the user needs to know.
			fmt.Fprintf(s.prompt, "git-credential-azdo: %s The code expires in %d minutes; Ctrl-C cancels.\n",
				redact.Line(dc.Result.Message), time.Until(dc.Result.ExpiresOn).Round(time.Minute)/time.Minute)
			res, err = dc.AuthenticationResult(ctx)
		}
	case config.LoginPassword:
		if s.cfg.Password == "" {
			return Token{}, fmt.Errorf("--login=password needs the password in AZDO_PASSWORD")
		}
		res, err = c.AcquireTokenByUsernamePassword(ctx, s.cfg.Scopes(), s.cfg.Username, s.cfg.Password, public.WithClaims(claims))
		if err == nil {
			// After the sign-in only: a failed one says what went wrong in its one line.
			fmt.Fprintln(s.prompt, "git-credential-azdo: note: --login=password is deprecated by Microsoft and cannot pass multi-factor authentication; prefer --login=browser or --login=device")
		}
	default:
		return Token{}, fmt.Errorf("unknown sign-in method %q", method)
	}
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return Token{}, fmt.Errorf("the %s sign-in timed out after %s (--timeout): run the command again when you can finish it, or raise --timeout", method, s.cfg.Timeout)
	}
	if err != nil {
		return Token{}, fmt.Errorf("signing in (%s) at %s: %s", method, s.cfg.AuthorityURL(tenant), s.explain(err, tenant))
	}
	if account != "" && !strings.EqualFold(res.Account.PreferredUsername, account) {
		return Token{}, fmt.Errorf("signed in as %s, but the remote asks for %s: sign in with that account", res.Account.PreferredUsername, account)
	}
	return s.result(res), nil
}

func (s *Signer) result(res public.AuthResult) Token {
	redact.Hide(res.AccessToken)
	return Token{Token: res.AccessToken, ExpiresOn: res.ExpiresOn, Account: res.Account.PreferredUsername, HomeID: res.Account.HomeAccountID}
}

// openBrowser starts the browser on u without waiting for it to exit: a browser that was not
// running may stay in the foreground until the user closes it, and the sign-in, its locks and git
// with them would wait as long. A launcher that fails, at once or later, calls abort, so that
// the device code can take over.
func (s *Signer) openBrowser(u string, abort context.CancelCauseFunc) error {
	fmt.Fprintf(s.prompt, "git-credential-azdo: Opening your browser to sign in. If it does not open, visit: %s\n", u)
	failed := func(err error) error { return fmt.Errorf("%w (%v)", errNoBrowser, err) }
	// The launcher gets no output of ours: stdout is git's protocol channel, and a browser that
	// outlives this process holding git's stderr would keep a reader of it (an IDE) waiting.
	wait := func() error { return browser.OpenURL(u) }
	if cmd := strings.Fields(s.env.Getenv("BROWSER")); len(cmd) > 0 {
		// As git and gh do: the user's choice of browser, given the URL as its last argument.
		opener := exec.Command(cmd[0], append(cmd[1:], u)...)
		if err := opener.Start(); err != nil {
			return failed(err)
		}
		wait = opener.Wait
	} else {
		browser.Stdout, browser.Stderr = nil, nil // /dev/null
	}
	go func() {
		if err := wait(); err != nil {
			abort(failed(err))
		}
	}()
	fmt.Fprintf(s.prompt, "git-credential-azdo: waiting up to %s for the sign-in in your browser; Ctrl-C cancels\n", s.cfg.Timeout)
	return nil
}

// transient reports whether a failed refresh says nothing about the refresh token itself: the
// network or the service failed, so a new sign-in would not help.
func transient(err error) bool {
	var callErr msalerrors.CallErr
	if errors.As(err, &callErr) && callErr.Resp != nil {
		return callErr.Resp.StatusCode == http.StatusTooManyRequests || callErr.Resp.StatusCode >= 500
	}
	var urlErr *url.Error
	return errors.As(err, &urlErr) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// pickAccount chooses the cached account to sign in silently with, among those named (by user
// name or home account ID; all when none is). MSAL keeps a person once per tenant they signed in
// to (a sign-in for orgs goes to the multi-tenant endpoint), so entries that share a home account
// are one person: theirs for tenant is preferred. Between two people (a work and a personal
// account with one e-mail address, or two accounts of one tenant) it picks only the one person
// signed in to tenant, and otherwise none: only naming one can tell.
func pickAccount(accounts []public.Account, want, tenant string) (public.Account, bool) {
	var found, inTenant []public.Account
	for _, a := range accounts {
		if want == "" || strings.EqualFold(a.PreferredUsername, want) || a.HomeAccountID == want {
			found = append(found, a)
			if strings.EqualFold(a.Realm, tenant) {
				inTenant = append(inTenant, a)
			}
		}
	}
	switch {
	case onePerson(found) && len(inTenant) > 0:
		return inTenant[0], true
	case onePerson(found):
		return found[0], true
	case onePerson(inTenant):
		return inTenant[0], true
	}
	return public.Account{}, false
}

// onePerson reports whether accounts is not empty and all of one home account.
func onePerson(accounts []public.Account) bool {
	return len(accounts) > 0 &&
		!slices.ContainsFunc(accounts, func(a public.Account) bool { return a.HomeAccountID != accounts[0].HomeAccountID })
}

// explain words a failed sign-in in one line: an error status from Entra ID as the status and,
// for an Entra error a real tenant sends, its fix, a network failure as the host and its cause
// (MSAL puts the cause on a second line), anything else as MSAL's first line.
func (s *Signer) explain(err error, tenant string) string {
	why, entra := explainEntra(err, s.cfg.ClientID, tenant)
	var callErr msalerrors.CallErr
	if errors.As(err, &callErr) && callErr.Resp != nil {
		return explainStatus(callErr, why)
	}
	if entra {
		return why
	}
	if why, ok := s.http.ExplainNetwork(err); ok {
		return why
	}
	first, _, _ := strings.Cut(err.Error(), "\n") // MSAL's HTTP error dumps run on for lines
	return strings.TrimSpace(first)
}

// msalCache persists MSAL's token cache in the store, which chunks it where the OS keyring limits
// the size of a secret.
type msalCache struct {
	store store.Store
	key   string
}

func (c *msalCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	b, err := c.store.Get(ctx, c.key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err == nil {
		err = u.Unmarshal(b)
	}
	if err != nil {
		return &signInCacheError{"reading", err}
	}
	return nil
}

func (c *msalCache) Export(ctx context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	b, err := m.Marshal()
	if err == nil {
		err = c.store.Set(ctx, c.key, b)
	}
	if err != nil {
		return &signInCacheError{"saving", err}
	}
	return nil
}

// signInCacheError is a failure of the store under MSAL's token cache, which MSAL returns as it
// is: told apart from a refusal of the sign-in, it does not lead to a new sign-in.
type signInCacheError struct {
	doing string
	err   error
}

func (e *signInCacheError) Error() string { return e.doing + " the sign-in cache: " + e.err.Error() }
func (e *signInCacheError) Unwrap() error { return e.err }
