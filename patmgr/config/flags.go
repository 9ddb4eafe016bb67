package config

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RegisterFlags binds every setting to fs. They are accepted on the helper line in git's
// config (`helper = azdo --scope=vso.code`), which costs no git process to read, and before or
// after any command.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.ServiceURL, "service-url", c.ServiceURL, "serve this Azure DevOps-compatible `URL` (emulator, proxy) instead of dev.azure.com")
	fs.StringVar(&c.Authority, "authority", c.Authority, "Entra ID authority `URL` (the tenant is appended)")
	fs.StringVar(&c.Tenant, "tenant", c.Tenant, "sign in to this tenant `ID` instead of discovering it")
	fs.StringVar(&c.ClientID, "client-id", c.ClientID, "public client (application) `ID` used to sign in")
	fs.StringVar(&c.Resource, "resource", c.Resource, "Azure DevOps resource `ID` in Entra ID")
	fs.StringVar(&c.CAFile, "ca-file", c.CAFile, "also trust the CA certificates in this PEM `file`")
	fs.StringVar(&c.Scope, "scope", c.Scope, "PAT `scopes`, space separated (vso.code = read only)")
	fs.Var((*durationValue)(&c.Lifetime), "lifetime", "lifetime of a new PAT, a `duration` such as 30d or 12h; org policy may shorten it")
	fs.Var((*durationValue)(&c.RenewBefore), "renew-before", "renew a PAT when less than this `duration` of its lifetime is left")
	fs.StringVar(&c.Store, "store", c.Store, "where secrets are kept: `keyring` or file")
	fs.StringVar(&c.StoreFile, "store-file", c.StoreFile, "`path` of the file store (default STATE-DIR/credentials)")
	fs.StringVar(&c.StateDir, "state-dir", c.StateDir, "`dir`ectory for locks, the index and, with --store=file, the file store")
	fs.StringVar(&c.Login, "login", c.Login, "sign-in `method`: auto, browser, device, password or never")
	fs.StringVar(&c.Username, "username", c.Username, "`user` name for --login=password (password in AZDO_PASSWORD)")
	fs.Var((*durationValue)(&c.KeyringTimeout), "keyring-timeout", "give up on an unanswering keyring after this `duration`")
	fs.Var((*durationValue)(&c.Timeout), "timeout", "give up on the whole operation, sign-in included, after this `duration`")
	fs.BoolVar(&c.Trace, "trace", c.Trace, "print what the helper does to stderr (secrets redacted)")
}

// ApplyEnv lets AZDO_<SETTING> override the helper line, e.g. AZDO_SCOPE or AZDO_STORE, for CI
// jobs that cannot edit git config.
func ApplyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil {
			return
		}
		name := EnvName(f.Name)
		if v := getenv(name); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, e)
			}
		}
	})
	return err
}

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
		if err != nil || n < 0 {
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
