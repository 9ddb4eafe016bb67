package patmgr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdo"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/redact"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/trace"
	"github.com/pkg/browser"
)

// accessToken is an Entra ID token for the Azure DevOps resource and the account it belongs to.
type accessToken struct {
	Token     string
	ExpiresOn time.Time
	Account   string // user principal name, e.g. alice@contoso.com
	HomeID    string // MSAL home account ID, stable across renames
}

// ErrSignInRequired means a sign-in is needed and this process may not or cannot ask for one.
var ErrSignInRequired = errors.New("sign-in required")

// signer signs the user in to Entra ID through MSAL Go. Every MSAL client it makes shares one
// token cache persisted in the store, so a refresh token obtained once serves every organisation
// and every later process.
type signer struct {
	cfg    *config.Config
	http   *azdo.Client
	cache  *msalCache
	trace  *trace.Tracer
	prompt io.Writer   // stderr: MSAL's device-code message and browser notices
	env    Environment // BROWSER, and whether a device code can be read
}

// errNoBrowser means the browser could not be started: no opener, or it failed.
var errNoBrowser = errors.New("the browser could not be started")

func (s *signer) client(tenant string) (public.Client, error) {
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

// refreshClaims makes MSAL skip its cached access token and redeem the refresh token. It asks for
// no claim: MSAL merges the cp1 capability in, and would refuse a second copy of it.
const refreshClaims = `{"access_token":{}}`

// silent returns a token from the cache, refreshing it with the cached refresh token if needed.
// With claims (refreshClaims, or those of a claims challenge) it redeems the refresh token even if
// the cached access token looks valid, because the service refused it.
func (s *signer) silent(ctx context.Context, tenant, account, claims string) (accessToken, error) {
	c, err := s.client(tenant)
	if err != nil {
		return accessToken{}, err
	}
	accounts, err := c.Accounts(ctx)
	if err != nil {
		return accessToken{}, err // a signInCacheError
	}
	acct, ok := pickAccount(accounts, account, tenant)
	if !ok {
		return accessToken{}, fmt.Errorf("%w: no cached sign-in for %s", ErrSignInRequired, orAny(account))
	}
	opts := []public.AcquireSilentOption{public.WithSilentAccount(acct)}
	if claims != "" {
		opts = append(opts, public.WithClaims(claims))
	}
	res, err := c.AcquireTokenSilent(ctx, s.cfg.Scopes(), opts...)
	var cacheErr *signInCacheError
	if errors.As(err, &cacheErr) {
		// The keyring failed, not the sign-in: a new one would meet the same keyring.
		return accessToken{}, fmt.Errorf("refreshing the sign-in of %s: %w", acct.PreferredUsername, err)
	}
	if err != nil {
		if transient(err) {
			return accessToken{}, fmt.Errorf("refreshing the sign-in of %s: %s", acct.PreferredUsername, s.explain(err, tenant))
		}
		return accessToken{}, fmt.Errorf("%w: the cached sign-in of %s no longer works: %s", ErrSignInRequired, acct.PreferredUsername, s.explain(err, tenant))
	}
	return s.result(res), nil
}

// interactive signs in with the given method: config.LoginBrowser, config.LoginDevice or
// config.LoginPassword; claims, when not "", are those a claims challenge asked for.
func (s *signer) interactive(ctx context.Context, tenant, account, method, claims string) (accessToken, error) {
	c, err := s.client(tenant)
	if err != nil {
		return accessToken{}, err
	}
	var res public.AuthResult
	if method == config.LoginBrowser {
		res, err = s.browserSignIn(ctx, c, account, claims)
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
		var opts []public.AcquireByDeviceCodeOption
		if claims != "" {
			opts = append(opts, public.WithClaims(claims))
		}
		dc, err = c.AcquireTokenByDeviceCode(ctx, s.cfg.Scopes(), opts...)
		if err == nil {
			// The message is the server's text: one safe line, then what the user needs to know.
			fmt.Fprintf(s.prompt, "git-credential-azdo: %s The code expires %s; Ctrl-C cancels.\n",
				redact.Line(dc.Result.Message), humanTime(dc.Result.ExpiresOn, time.Now()))
			res, err = dc.AuthenticationResult(ctx)
		}
	case config.LoginPassword:
		if s.cfg.Password == "" {
			return accessToken{}, fmt.Errorf("--login=password needs the password in AZDO_PASSWORD")
		}
		var opts []public.AcquireByUsernamePasswordOption
		if claims != "" {
			opts = append(opts, public.WithClaims(claims))
		}
		res, err = c.AcquireTokenByUsernamePassword(ctx, s.cfg.Scopes(), s.cfg.Username, s.cfg.Password, opts...)
		if err == nil {
			// After the sign-in only: a failed one says what went wrong in its one line.
			fmt.Fprintln(s.prompt, "git-credential-azdo: note: --login=password is deprecated by Microsoft and cannot pass multi-factor authentication; prefer --login=browser or --login=device")
		}
	default:
		return accessToken{}, fmt.Errorf("unknown sign-in method %q", method)
	}
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return accessToken{}, fmt.Errorf("the %s sign-in timed out after %s (--timeout): run the command again when you can finish it, or raise --timeout", method, s.cfg.Timeout)
	}
	if err != nil {
		return accessToken{}, fmt.Errorf("signing in (%s) at %s: %s", method, s.cfg.AuthorityURL(tenant), s.explain(err, tenant))
	}
	if account != "" && !strings.EqualFold(res.Account.PreferredUsername, account) {
		return accessToken{}, fmt.Errorf("signed in as %s, but the remote asks for %s: sign in with that account", res.Account.PreferredUsername, account)
	}
	return s.result(res), nil
}

func (s *signer) result(res public.AuthResult) accessToken {
	redact.Hide(res.AccessToken)
	return accessToken{Token: res.AccessToken, ExpiresOn: res.ExpiresOn, Account: res.Account.PreferredUsername, HomeID: res.Account.HomeAccountID}
}

// openBrowser keeps the browser launcher's output off stdout, which is git's protocol channel.
func (s *signer) openBrowser(u string) error {
	fmt.Fprintf(s.prompt, "git-credential-azdo: Opening your browser to sign in. If it does not open, visit: %s\n", u)
	var err error
	if cmd := strings.Fields(s.env.Getenv("BROWSER")); len(cmd) > 0 {
		// As git and gh do: the user's choice of browser, given the URL as its last argument.
		opener := exec.Command(cmd[0], append(cmd[1:], u)...)
		opener.Stdout, opener.Stderr = s.prompt, s.prompt
		err = opener.Run()
	} else {
		browser.Stdout, browser.Stderr = s.prompt, s.prompt
		err = browser.OpenURL(u)
	}
	if err != nil {
		return fmt.Errorf("%w (%v)", errNoBrowser, err)
	}
	fmt.Fprintf(s.prompt, "git-credential-azdo: waiting up to %s for the sign-in in your browser; Ctrl-C cancels\n", s.cfg.Timeout)
	return nil
}

// browserSignIn signs in with the auth code flow in the system browser.
func (s *signer) browserSignIn(ctx context.Context, c public.Client, account, claims string) (public.AuthResult, error) {
	opts := []public.AcquireInteractiveOption{public.WithOpenURL(s.openBrowser)}
	if account != "" {
		opts = append(opts, public.WithLoginHint(account))
	}
	if claims != "" {
		opts = append(opts, public.WithClaims(claims))
	}
	return c.AcquireTokenInteractive(ctx, s.cfg.Scopes(), opts...)
}

// signOut forgets every cached account: the refresh tokens go with them.
func (s *signer) signOut(ctx context.Context) error {
	return s.cache.store.Delete(ctx, s.cache.key)
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
	for _, a := range accounts {
		if a.HomeAccountID != accounts[0].HomeAccountID {
			return false
		}
	}
	return len(accounts) > 0
}

func orAny(account string) string {
	if account == "" {
		return "any account"
	}
	return account
}

// explain words a failed sign-in in one line: an Entra error a real tenant sends as its fix, a
// network failure as the host and its cause (MSAL puts the cause on a second line), anything else
// as MSAL's first line.
func (s *signer) explain(err error, tenant string) string {
	if why, ok := explainEntra(err, s.cfg.ClientID, tenant); ok {
		return why
	}
	if why, ok := s.http.ExplainNetwork(err); ok {
		return why
	}
	return oneLine(err)
}

// oneLine keeps MSAL's multi-line HTTP error dumps to their first line.
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return strings.TrimSpace(s)
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
	if err != nil {
		return &signInCacheError{"reading", err}
	}
	if err := u.Unmarshal(b); err != nil {
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
