package config

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// RegisterFlags binds every setting to fs, as --name=value (or --name value) on git's helper line
// or a command line; ApplyEnv adds the variable EnvName(name). They are accepted before or after
// any command.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.Var((*stringValue)(&c.ServiceURL), "service-url", "serve this Azure DevOps-compatible `URL` (emulator, proxy) instead of dev.azure.com")
	fs.Var(&authorityValue{&c.Authority, &c.authorityFromEnv}, "authority", "Entra ID authority `URL` (the tenant is appended)")
	fs.Var((*stringValue)(&c.Tenant), "tenant", "sign in to this tenant `ID` instead of discovering it")
	fs.Var((*stringValue)(&c.ClientID), "client-id", "public client (application) `ID` used to sign in")
	fs.Var((*stringValue)(&c.Resource), "resource", "Azure DevOps resource `ID` in Entra ID")
	fs.Var((*stringValue)(&c.CAFile), "ca-file", "also trust the CA certificates in this PEM `file`")
	fs.Var((*stringValue)(&c.Scope), "scope", "PAT `scopes`, space separated (vso.code = read only)")
	fs.Var((*durationValue)(&c.Lifetime), "lifetime", "lifetime of a new PAT, a `duration` such as 30d or 12h; org policy may shorten it")
	fs.Var((*durationValue)(&c.RenewBefore), "renew-before", "renew a PAT when less than this `duration` of its lifetime is left")
	fs.Var((*stringValue)(&c.Store), "store", "where secrets are kept: `keyring` or file")
	fs.Var((*stringValue)(&c.StoreFile), "store-file", "`path` of the file store (default STATE-DIR/credentials)")
	fs.Var((*stringValue)(&c.StateDir), "state-dir", "`dir`ectory for locks, the index and, with --store=file, the file store")
	fs.Var((*stringValue)(&c.Login), "login", "sign-in `method`: auto, browser, device, password or never")
	fs.Var((*stringValue)(&c.Username), "username", "`user` name for --login=password (password in AZDO_PASSWORD)")
	fs.Var((*durationValue)(&c.KeyringTimeout), "keyring-timeout", "give up on an unanswering keyring after this `duration`")
	fs.Var((*durationValue)(&c.Timeout), "timeout", "give up on the whole operation, sign-in included, after this `duration`")
	fs.Var((*boolValue)(&c.Trace), "trace", "print what the helper does to stderr (secrets redacted)")
}

// ApplyEnv lets AZDO_<SETTING> override the helper line, e.g. AZDO_SCOPE or AZDO_STORE, for CI
// jobs that cannot edit git config.
func ApplyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := EnvName(f.Name)
		if v := getenv(name); v != "" && err == nil {
			named := f.Value.String() == v // by the helper line or command line already
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, e)
			}
			if a, ok := f.Value.(*authorityValue); ok && !named {
				*a.fromEnv = true
			}
		}
	})
	return err
}

type stringValue string

func (s *stringValue) String() string     { return string(*s) }
func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }

// authorityValue is --authority, which also notes whether AZDO_AUTHORITY alone named it:
// Validate lets no environment variable alone choose where a password goes.
type authorityValue struct {
	url     *string
	fromEnv *bool
}

func (a *authorityValue) String() string {
	if a.url == nil { // the flag package's zero value, for help
		return ""
	}
	return *a.url
}

func (a *authorityValue) Set(v string) error {
	*a.url, *a.fromEnv = v, false
	return nil
}

type boolValue bool

func (b *boolValue) String() string { return strconv.FormatBool(bool(*b)) }

func (b *boolValue) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("use true or false") // the flag package and ApplyEnv quote the value
	}
	*b = boolValue(v)
	return nil
}

// IsBoolFlag lets the flag package take --trace alone as --trace=true.
func (b *boolValue) IsBoolFlag() bool { return true }

// durationValue accepts Go durations plus whole days ("30d"), which is how PAT lifetimes are
// usually thought of.
type durationValue time.Duration

func (d *durationValue) String() string {
	v := time.Duration(*d)
	if day := 24 * time.Hour; v > 0 && v%day == 0 {
		return strconv.Itoa(int(v/day)) + "d"
	}
	return v.String()
}

func (d *durationValue) Set(s string) error {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || int64(n) > math.MaxInt64/int64(24*time.Hour) {
			return fmt.Errorf("%q is not a duration: use e.g. 30d or 12h", s)
		}
		*d = durationValue(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration: use e.g. 30d or 12h", s)
	}
	*d = durationValue(v)
	return nil
}

// EnvName is the environment variable that overrides the setting flag name.
func EnvName(flag string) string {
	return "AZDO_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}
