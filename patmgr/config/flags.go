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

// setting is one setting as it is given: --name=value (or --name value) on git's helper line,
// which costs no git process to read, or the variable env. settings lists them all once, for both
// readers: the flag package in the full program (RegisterFlags, ApplyEnv), and ParseHelperLine in
// the front git runs on every get, which must not pay for the flag package.
type setting struct {
	name, env, usage string
	field            func(*Config) flag.Value
}

var settings = [...]setting{
	{"service-url", "AZDO_SERVICE_URL", "serve this Azure DevOps-compatible `URL` (emulator, proxy) instead of dev.azure.com",
		func(c *Config) flag.Value { return (*stringValue)(&c.ServiceURL) }},
	{"authority", "AZDO_AUTHORITY", "Entra ID authority `URL` (the tenant is appended)",
		func(c *Config) flag.Value { return (*stringValue)(&c.Authority) }},
	{"tenant", "AZDO_TENANT", "sign in to this tenant `ID` instead of discovering it",
		func(c *Config) flag.Value { return (*stringValue)(&c.Tenant) }},
	{"client-id", "AZDO_CLIENT_ID", "public client (application) `ID` used to sign in",
		func(c *Config) flag.Value { return (*stringValue)(&c.ClientID) }},
	{"resource", "AZDO_RESOURCE", "Azure DevOps resource `ID` in Entra ID",
		func(c *Config) flag.Value { return (*stringValue)(&c.Resource) }},
	{"ca-file", "AZDO_CA_FILE", "also trust the CA certificates in this PEM `file`",
		func(c *Config) flag.Value { return (*stringValue)(&c.CAFile) }},
	{"scope", "AZDO_SCOPE", "PAT `scopes`, space separated (vso.code = read only)",
		func(c *Config) flag.Value { return (*stringValue)(&c.Scope) }},
	{"lifetime", "AZDO_LIFETIME", "lifetime of a new PAT, a `duration` such as 30d or 12h; org policy may shorten it",
		func(c *Config) flag.Value { return (*durationValue)(&c.Lifetime) }},
	{"renew-before", "AZDO_RENEW_BEFORE", "renew a PAT when less than this `duration` of its lifetime is left",
		func(c *Config) flag.Value { return (*durationValue)(&c.RenewBefore) }},
	{"store", "AZDO_STORE", "where secrets are kept: `keyring` or file",
		func(c *Config) flag.Value { return (*stringValue)(&c.Store) }},
	{"store-file", "AZDO_STORE_FILE", "`path` of the file store (default STATE-DIR/credentials)",
		func(c *Config) flag.Value { return (*stringValue)(&c.StoreFile) }},
	{"state-dir", "AZDO_STATE_DIR", "`dir`ectory for locks, the index and, with --store=file, the file store",
		func(c *Config) flag.Value { return (*stringValue)(&c.StateDir) }},
	{"login", "AZDO_LOGIN", "sign-in `method`: auto, browser, device, password or never",
		func(c *Config) flag.Value { return (*stringValue)(&c.Login) }},
	{"username", "AZDO_USERNAME", "`user` name for --login=password (password in AZDO_PASSWORD)",
		func(c *Config) flag.Value { return (*stringValue)(&c.Username) }},
	{"keyring-timeout", "AZDO_KEYRING_TIMEOUT", "give up on an unanswering keyring after this `duration`",
		func(c *Config) flag.Value { return (*durationValue)(&c.KeyringTimeout) }},
	{"timeout", "AZDO_TIMEOUT", "give up on the whole operation, sign-in included, after this `duration`",
		func(c *Config) flag.Value { return (*durationValue)(&c.Timeout) }},
	{"trace", "AZDO_TRACE", "print what the helper does to stderr (secrets redacted)",
		func(c *Config) flag.Value { return (*boolValue)(&c.Trace) }},
}

// RegisterFlags binds every setting to fs. They are accepted before or after any command.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	for _, s := range settings {
		fs.Var(s.field(c), s.name, s.usage)
	}
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

// ParseHelperLine reads git's helper line (settings, then the operation) and the AZDO_* variables
// into a valid configuration, as RegisterFlags, ApplyEnv and Validate do in the full program, but
// without registering flags, which costs the front measurably on every get. ok is false for
// anything else (a setting it does not know or that is bad, help, "--", not exactly one
// operation): the full program, which explains those, must see them.
// TestParseHelperLineAgreesWithFlag and FuzzParseHelperLine hold it to the flag package.
func ParseHelperLine(args []string, getenv func(string) string) (c Config, op string, ok bool) {
	if len(args) == 0 {
		return c, "", false
	}
	c = Defaults()
	op = args[len(args)-1]
	if op == "" || op[0] == '-' {
		return c, "", false
	}
	settingArgs := args[:len(args)-1]
	for i := 0; i < len(settingArgs); i++ {
		name, dashed := strings.CutPrefix(settingArgs[i], "-")
		if !dashed {
			return c, "", false
		}
		name = strings.TrimPrefix(name, "-")
		name, v, hasValue := strings.Cut(name, "=")
		s := lookupSetting(name)
		if s == nil {
			return c, "", false
		}
		field := s.field(&c)
		switch _, isBool := field.(*boolValue); {
		case hasValue:
		case isBool:
			v = "true"
		case i+1 < len(settingArgs): // --name value, as the flag package reads it
			i++
			v = settingArgs[i]
		default: // the value would be the operation
			return c, "", false
		}
		if field.Set(v) != nil {
			return c, "", false
		}
	}
	for i := range settings {
		if v := getenv(settings[i].env); v != "" && settings[i].field(&c).Set(v) != nil {
			return c, "", false
		}
	}
	if c.Validate() != nil {
		return c, "", false
	}
	return c, op, true
}

func lookupSetting(name string) *setting {
	for i := range settings {
		if settings[i].name == name {
			return &settings[i]
		}
	}
	return nil
}

type stringValue string

func (s *stringValue) String() string     { return string(*s) }
func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }

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
