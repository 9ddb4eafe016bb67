// Package config holds git-credential-azdo's settings: their defaults, their validation, how they
// are given (flags on git's helper line, AZDO_* variables), and what they point at. It is light on
// purpose: the fast path of a git get parses settings too, and must not link the sign-in stack.
package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
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
	switch c.Store {
	case "keyring", "file":
	default:
		return fmt.Errorf("--store=%q is unknown: use --store=keyring or --store=file", c.Store)
	}
	switch c.Login {
	case LoginAuto, LoginBrowser, LoginDevice, LoginPassword, LoginNever:
	default:
		return fmt.Errorf("--login=%q is unknown: use auto, browser, device, password or never", c.Login)
	}
	if c.Login == LoginPassword && c.Username == "" {
		return fmt.Errorf("--login=password needs --username (and the password in AZDO_PASSWORD)")
	}
	if c.KeyringTimeout <= 0 || c.Timeout <= 0 {
		return fmt.Errorf("timeouts must be positive")
	}
	return nil
}

// httpsBase accepts only https://host[:port] with no path, query or user info: tokens go there.
func httpsBase(flag, raw string) error {
	scheme, _, found := strings.Cut(raw, "://")
	switch {
	case !found:
		return fmt.Errorf("%s %q is not a URL: use https://host[:port]", flag, raw)
	case !strings.EqualFold(scheme, "https"):
		return fmt.Errorf("%s %q is not https: tokens are only sent over https", flag, raw)
	}
	if _, ok := baseHost(raw); !ok {
		return fmt.Errorf("%s %q must be just https://host[:port]", flag, raw)
	}
	return nil
}

// baseHost is the host[:port] of an https://host[:port] URL (trailing slashes allowed), in
// lower case. It is written out, not net/url's, so that the front git runs on every get does
// not link net/url and net/netip, whose start-up alone costs it about 0.1 ms; it accepts less
// than url.Parse with httpsBase's old checks did (held to them by TestBaseHostAgreesWithNetURL
// and FuzzBaseHost): host names of letters, digits, '-', '.' and '_', IPv4 addresses, IPv6
// addresses in brackets, and a port of digits.
func baseHost(raw string) (string, bool) {
	const prefix = "https://"
	if len(raw) < len(prefix) || !strings.EqualFold(raw[:len(prefix)], prefix) {
		return "", false
	}
	hostport := strings.TrimRight(raw[len(prefix):], "/")
	host, port := hostport, ""
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && !strings.HasSuffix(hostport, "]") {
		host, port = hostport[:i], hostport[i+1:]
		if !ValidPort(port) {
			return "", false
		}
	}
	if !validHost(host) {
		return "", false
	}
	return strings.ToLower(hostport), true
}

func validHost(host string) bool {
	if inner, ok := strings.CutPrefix(host, "["); ok {
		addr, ok := strings.CutSuffix(inner, "]")
		return ok && validIPv6(addr)
	}
	if host == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// ValidPort accepts the canonical decimal form of a port from 1 to 65535 only (no leading
// zeros), so that "0443" and "443" cannot be two spellings of one host when hosts are compared.
func ValidPort(p string) bool {
	if len(p) == 0 || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// validIPv6 accepts the text forms of RFC 4291 section 2.2: eight groups of one to four hex
// digits, at most one "::" standing for one or more groups of zeros, and an IPv4 address in
// place of the last two groups. Zones are refused.
func validIPv6(s string) bool {
	groups, compressed := 0, false
	// complete reports whether n written groups make a whole address: eight, or fewer where
	// "::" stands for at least one.
	complete := func(n int) bool {
		if compressed {
			return n < 8
		}
		return n == 8
	}
	if strings.HasPrefix(s, "::") {
		compressed, s = true, s[2:]
		if s == "" {
			return true
		}
	}
	for {
		field, rest, more := strings.Cut(s, ":")
		if !more && strings.Contains(field, ".") {
			return validIPv4(field) && complete(groups+2)
		}
		if len(field) == 0 || len(field) > 4 || strings.Trim(field, "0123456789abcdefABCDEF") != "" {
			return false
		}
		groups++
		if !more {
			return complete(groups)
		}
		if strings.HasPrefix(rest, ":") {
			if compressed {
				return false
			}
			compressed, rest = true, rest[1:]
			if rest == "" {
				return groups < 8
			}
		}
		s = rest
	}
}

func validIPv4(s string) bool {
	for i := 0; i < 4; i++ {
		field, rest, more := strings.Cut(s, ".")
		if (i < 3) != more || len(field) == 0 || len(field) > 3 || (len(field) > 1 && field[0] == '0') ||
			strings.Trim(field, "0123456789") != "" {
			return false
		}
		if n, _ := strconv.Atoi(field); n > 255 {
			return false
		}
		s = rest
	}
	return true
}

// Scopes this tool may put on a PAT: the code scopes a git remote needs, and full access for those
// who insist. Anything else is almost certainly a typo that would fail at creation time anyway.
// (A switch, not a map: a map literal is built at start-up, which every get pays for.)
func knownScope(f string) bool {
	switch f {
	case "vso.code", "vso.code_write", "vso.code_manage", "vso.code_full", "vso.code_status",
		"vso.packaging", "vso.packaging_write", "vso.build", "vso.work", "vso.work_write", "app_token":
		return true
	}
	return false
}

func validScopes(s string) error {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return fmt.Errorf("--scope is empty: use vso.code (read) or vso.code_write (read and push)")
	}
	for _, f := range fields {
		if !knownScope(f) {
			return fmt.Errorf("--scope %q is not a PAT scope this tool knows: use vso.code or vso.code_write", f)
		}
	}
	return nil
}

// ServiceHost is the host that names the Azure DevOps service in keys and in remote matching.
func (c *Config) ServiceHost() string {
	if c.ServiceURL == "" {
		return "dev.azure.com"
	}
	host, _ := baseHost(c.ServiceURL) // Validate has accepted it
	return host
}

// CustomServiceHost is ServiceHost for a configured --service-url, and "" for Azure DevOps
// itself: the RemoteOptions.ServiceHost that makes it the only host served.
func (c *Config) CustomServiceHost() string {
	if c.ServiceURL == "" {
		return ""
	}
	return c.ServiceHost()
}

// OrgURL is the organisation's own URL, which names its tenant to an anonymous request.
func (c *Config) OrgURL(org string) string {
	if c.ServiceURL != "" {
		return strings.TrimRight(c.ServiceURL, "/") + "/" + org
	}
	return "https://dev.azure.com/" + org
}

// PATURL is the organisation's PAT Lifecycle Management API.
func (c *Config) PATURL(org string) string {
	if c.ServiceURL != "" {
		return strings.TrimRight(c.ServiceURL, "/") + "/" + org + "/_apis/tokens/pats"
	}
	return "https://vssps.dev.azure.com/" + org + "/_apis/tokens/pats"
}

// ProfileURL is the base of the profile and accounts APIs.
func (c *Config) ProfileURL() string {
	if c.ServiceURL != "" {
		return strings.TrimRight(c.ServiceURL, "/") + "/_apis"
	}
	return "https://app.vssps.visualstudio.com/_apis"
}

// AuthorityURL is the Entra ID authority for tenant.
func (c *Config) AuthorityURL(tenant string) string {
	return strings.TrimRight(c.Authority, "/") + "/" + tenant
}

// Scopes are the OAuth scopes asked for: whatever the app was granted on Azure DevOps.
func (c *Config) Scopes() []string {
	return []string{c.Resource + "/.default"}
}

// TenantOrganizations is the multi-tenant authority segment: work and school accounts of any tenant.
const TenantOrganizations = "organizations"

// IsGUID reports whether s is a GUID in its 8-4-4-4-12 hexadecimal form. It runs on every
// invocation (Config.Validate), so it is written out rather than a regexp compiled at start-up.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// isDomainName reports whether s is a DNS name of two labels or more, each of 1 to 63 letters,
// digits and inner hyphens. Written out, like IsGUID: linking regexp alone costs every run of the
// front tens of microseconds of package initialisation.
func isDomainName(s string) bool {
	labels := 0
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-') {
				return false
			}
		}
		labels++
	}
	return labels >= 2
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
