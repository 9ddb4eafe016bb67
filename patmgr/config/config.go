// Package config holds git-credential-azdo's settings: their defaults, their validation, how they
// are given (flags on git's helper line, AZDO_* variables), and what they point at.
package config

import (
	"cmp"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Well-known identifiers of the public Azure DevOps service. Users with their own app registration
// override ClientID; Resource only changes for sovereign clouds.
const (
	// DefaultClientID is the Visual Studio public client, which Azure DevOps trusts in every tenant
	// and which needs no app registration by the user.
	DefaultClientID = "872cd9fa-d31f-45e0-9eab-6e460a02d1f1"
	// DefaultResource is the Azure DevOps resource (application) ID in Entra ID.
	DefaultResource  = "499b84ac-1321-427f-aa17-267ca6975798"
	DefaultAuthority = "https://login.microsoftonline.com"
	DefaultScope     = "vso.code_write"
	// DefaultLifetime and DefaultRenewBefore keep a PAT short-lived while renewing it before
	// Azure DevOps sends its "expires in seven days" e-mail, as long as git is used every few weeks.
	DefaultLifetime    = 30 * 24 * time.Hour
	DefaultRenewBefore = 10 * 24 * time.Hour
	DefaultTimeout     = 5 * time.Minute
	// DefaultKeyringTimeout bounds a keyring call: a locked collection with no prompter never answers.
	DefaultKeyringTimeout = 5 * time.Second
)

// Login modes.
const (
	LoginAuto     = "auto"     // silent, then browser if one can be used, else device code on a terminal
	LoginBrowser  = "browser"  // silent, then the system browser only
	LoginDevice   = "device"   // silent, then device code (allowed with no terminal: the message goes to stderr)
	LoginPassword = "password" // silent, then username/password (ROPC): explicit opt-in only
	LoginNever    = "never"    // silent only: for cron jobs and CI
)

// Config holds every setting of the helper. The zero value is not valid: start from Defaults().
type Config struct {
	ClientID  string
	Resource  string
	Authority string // scheme://host of the Entra ID authority; the tenant is appended
	Tenant    string // fixed tenant; "" discovers it per organisation
	// ServiceURL replaces Azure DevOps (dev.azure.com, vssps.dev.azure.com, app.vssps.visualstudio.com)
	// with one base URL, as the emulator or a proxy serves it. "" means the real service.
	ServiceURL     string
	CAFile         string // extra CA certificates (PEM) to trust, for the emulator or a TLS-inspecting proxy
	Scope          string // space-separated PAT scopes
	Lifetime       time.Duration
	RenewBefore    time.Duration
	Store          string // "keyring" or "file"
	StoreFile      string
	StateDir       string // locks and the non-secret index
	Login          string
	Username       string // for LoginPassword; the password comes from AZDO_PASSWORD only
	Password       string `json:"-"`
	KeyringTimeout time.Duration
	Timeout        time.Duration // whole-operation deadline, interactive sign-in included
	Trace          bool
	// authorityFromEnv: AZDO_AUTHORITY alone named Authority, no helper line or command line.
	authorityFromEnv bool
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{
		ClientID:       DefaultClientID,
		Resource:       DefaultResource,
		Authority:      DefaultAuthority,
		Scope:          DefaultScope,
		Lifetime:       DefaultLifetime,
		RenewBefore:    DefaultRenewBefore,
		Store:          "keyring",
		Login:          LoginAuto,
		KeyringTimeout: DefaultKeyringTimeout,
		Timeout:        DefaultTimeout,
	}
}

// Validate refuses settings that would weaken security or cannot work, with the fix in the message.
func (c *Config) Validate() error {
	for _, p := range []struct {
		name string
		path *string
	}{{"store-file", &c.StoreFile}, {"state-dir", &c.StateDir}, {"ca-file", &c.CAFile}} {
		abs, err := AbsPath(p.name, *p.path)
		if err != nil {
			return err
		}
		*p.path = abs
	}
	if err := httpsBase("--authority", c.Authority); err != nil {
		return err
	}
	if c.ServiceURL != "" {
		if err := httpsBase("--service-url", c.ServiceURL); err != nil {
			return err
		}
	}
	if c.Tenant != "" && !ValidTenant(c.Tenant) {
		return fmt.Errorf("--tenant %q is neither a tenant GUID, a domain nor organizations/common", c.Tenant)
	}
	if !IsGUID(c.ClientID) {
		return fmt.Errorf("--client-id %q is not a GUID: use your app registration's Application (client) ID", c.ClientID)
	}
	if c.Resource == "" {
		return fmt.Errorf("--resource is empty: use %s for Azure DevOps", DefaultResource)
	}
	if err := validScopes(c.Scope); err != nil {
		return err
	}
	if c.Lifetime < time.Hour {
		return fmt.Errorf("--lifetime %s is shorter than an hour: use e.g. --lifetime=720h", c.Lifetime)
	}
	if c.RenewBefore < 0 {
		return fmt.Errorf("--renew-before %s is negative", c.RenewBefore)
	}
	if c.Store != "keyring" && c.Store != "file" {
		return fmt.Errorf("--store=%q is unknown: use --store=keyring or --store=file", c.Store)
	}
	if !slices.Contains([]string{LoginAuto, LoginBrowser, LoginDevice, LoginPassword, LoginNever}, c.Login) {
		return fmt.Errorf("--login=%q is unknown: use auto, browser, device, password or never", c.Login)
	}
	if c.Login == LoginPassword && c.Username == "" {
		return fmt.Errorf("--login=password needs --username (and the password in AZDO_PASSWORD)")
	}
	if host, _ := baseHost(c.Authority); c.Login == LoginPassword && c.authorityFromEnv && !MicrosoftLoginHost(host) {
		return fmt.Errorf("--login=password would send your password to %s, which only AZDO_AUTHORITY names: put --authority=%s on git's helper line (git-credential-azdo configure --authority=%s) or on the command line",
			c.Authority, c.Authority, c.Authority)
	}
	if c.KeyringTimeout <= 0 || c.Timeout <= 0 {
		return fmt.Errorf("timeouts must be positive")
	}
	return nil
}

// microsoftLoginHosts are the Entra ID sign-in hosts MSAL Go trusts, a line for each cloud:
// worldwide, China, Germany, US government, and the sovereign clouds of France, Germany and Singapore.
var microsoftLoginHosts = []string{
	"login.microsoftonline.com", "login.microsoft.com", "login.windows.net", "sts.windows.net",
	"login.partner.microsoftonline.cn", "login.chinacloudapi.cn",
	"login.microsoftonline.de",
	"login.microsoftonline.us", "login-us.microsoftonline.com", "login.usgovcloudapi.net",
	"login.sovcloud-identity.fr", "login.sovcloud-identity.de", "login.sovcloud-identity.sg",
}

// MicrosoftLoginHost reports whether host (lower case, as in a URL, a port making it another) is
// one of Microsoft's Entra ID sign-in hosts.
func MicrosoftLoginHost(host string) bool { return slices.Contains(microsoftLoginHosts, host) }

// httpsBase accepts only https://host[:port] with no path, query or user info: tokens go there.
func httpsBase(flag, raw string) error {
	u, err := url.Parse(raw)
	_, base := baseHost(raw)
	switch {
	case err != nil || u.Scheme == "" || u.Opaque != "":
		return fmt.Errorf("%s %q is not a URL: use https://host[:port]", flag, raw)
	case u.Scheme != "https":
		return fmt.Errorf("%s %q is not https: tokens are only sent over https", flag, raw)
	case !base:
		return fmt.Errorf("%s %q must be just https://host[:port]", flag, raw)
	}
	return nil
}

// baseHost is the host[:port] of an https://host[:port] URL (trailing slashes allowed), in lower
// case. The host is a name of letters, digits, '-', '.' and '_', an IPv4 address, or an IPv6
// address in brackets; the port is written as a number is, so that "0443" and "443" cannot be
// two spellings of one host when hosts are compared.
func baseHost(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
		return "", false
	}
	if port := u.Port(); port != "" && !validPort(port) || strings.HasSuffix(u.Host, ":") || !validHost(u) {
		return "", false
	}
	return strings.ToLower(u.Host), true
}

func validHost(u *url.URL) bool {
	name := u.Hostname()
	if addr, err := netip.ParseAddr(name); err == nil {
		return addr.Zone() == "" && addr.Is6() == strings.HasPrefix(u.Host, "[")
	}
	// Digits and dots that are no IPv4 address name nothing.
	return strings.Trim(name, "0123456789.") != "" &&
		strings.Trim(strings.ToLower(name), "abcdefghijklmnopqrstuvwxyz0123456789-._") == ""
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n <= 65535 && strconv.Itoa(n) == p
}

// knownScopes are the scopes this tool may put on a PAT: the code scopes a git remote needs, and
// full access for those who insist. Anything else is almost certainly a typo that would fail at
// creation time anyway.
var knownScopes = []string{"vso.code", "vso.code_write", "vso.code_manage", "vso.code_full", "vso.code_status",
	"vso.packaging", "vso.packaging_write", "vso.build", "vso.work", "vso.work_write", "app_token"}

func validScopes(s string) error {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return fmt.Errorf("--scope is empty: use vso.code (read) or vso.code_write (read and push)")
	}
	for _, f := range fields {
		if !slices.Contains(knownScopes, f) {
			return fmt.Errorf("--scope %q is not a PAT scope this tool knows: use vso.code or vso.code_write", f)
		}
	}
	return nil
}

// ServiceHost is the host that names the Azure DevOps service in keys and in remote matching.
func (c *Config) ServiceHost() string { return cmp.Or(c.CustomServiceHost(), "dev.azure.com") }

// CustomServiceHost is the host of a configured --service-url, and "" for Azure DevOps itself:
// the helper.ParseRemote serviceHost that makes it the only host served.
func (c *Config) CustomServiceHost() string {
	host, _ := baseHost(c.ServiceURL) // Validate has accepted any but ""
	return host
}

// serviceBase is the base URL of one Azure DevOps service, given as that service's own, which
// ServiceURL replaces.
func (c *Config) serviceBase(azureDevOps string) string {
	return cmp.Or(strings.TrimRight(c.ServiceURL, "/"), azureDevOps)
}

// OrgURL is the organisation's own URL, which names its tenant to an anonymous request.
func (c *Config) OrgURL(org string) string { return c.serviceBase("https://dev.azure.com") + "/" + org }

// PATURL is the organisation's PAT Lifecycle Management API.
func (c *Config) PATURL(org string) string {
	return c.serviceBase("https://vssps.dev.azure.com") + "/" + org + "/_apis/tokens/pats"
}

// ProfileURL is the base of the profile and accounts APIs.
func (c *Config) ProfileURL() string {
	return c.serviceBase("https://app.vssps.visualstudio.com") + "/_apis"
}

// AuthorityURL is the Entra ID authority for tenant.
func (c *Config) AuthorityURL(tenant string) string {
	return strings.TrimRight(c.Authority, "/") + "/" + tenant
}

// Scopes are the OAuth scopes asked for: whatever the app was granted on Azure DevOps.
func (c *Config) Scopes() []string { return []string{c.Resource + "/.default"} }

// TenantOrganizations is the multi-tenant authority segment: work and school accounts of any tenant.
const TenantOrganizations = "organizations"

// IsGUID reports whether s is a GUID in its 8-4-4-4-12 hexadecimal form (uuid.Parse takes
// other forms too, none of them 36 long).
func IsGUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}

// ValidTenant accepts what may stand in an authority's path: a GUID, a verified domain, or one of
// the multi-tenant names. Anything else could smuggle a path or query into the authority URL.
func ValidTenant(s string) bool {
	switch s {
	case TenantOrganizations, "common", "consumers":
		return true
	}
	return IsGUID(s) || isDomainName(s)
}

// isDomainName reports whether s is two or more DNS labels: letters, digits and inner hyphens, 63
// at most each. Checked by hand: as a regexp, its counted repetitions compile to a program large
// enough to slow every start of the tool.
func isDomainName(s string) bool {
	labels := strings.Split(s, ".")
	return len(labels) >= 2 && !slices.ContainsFunc(labels, func(l string) bool { return !IsLabel(l, 63) })
}

// IsLabel reports whether s is 1 to max ASCII letters, digits and hyphens, with no hyphen at
// either end: a DNS label, or an Azure DevOps organisation name (50 at most).
func IsLabel(s string, max int) bool {
	return len(s) > 0 && len(s) <= max && s[0] != '-' && s[len(s)-1] != '-' &&
		strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") == ""
}
