package config

import (
	"errors"
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// parseWithFlag is the full program's reading of a helper line, which ParseHelperLine must agree
// with whenever it accepts one.
func parseWithFlag(args []string, getenv func(string) string) (Config, string, error) {
	c := Defaults()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return c, "", err
	}
	if fs.NArg() != 1 {
		return c, "", errNotOneOperation
	}
	if err := ApplyEnv(fs, getenv); err != nil {
		return c, "", err
	}
	return c, fs.Arg(0), c.Validate()
}

var errNotOneOperation = errors.New("not exactly one operation")

func envOf(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestParseHelperLineAgreesWithFlag(t *testing.T) {
	emu := []string{"--service-url=https://127.0.0.1:8443", "--authority=https://127.0.0.1:8443", "--ca-file=/tmp/ca.pem"}
	for _, tc := range []struct {
		name   string
		args   []string
		env    map[string]string
		accept bool // ParseHelperLine must accept it, not just agree when it does
	}{
		{"bare get", []string{"get"}, nil, true},
		{"store", []string{"store"}, nil, true},
		{"emulator line", append(emu, "get"), nil, true},
		{"single dashes", []string{"-scope=vso.code", "-store=file", "get"}, nil, true},
		{"every kind of value", []string{"--lifetime=12h", "--renew-before=2d", "--keyring-timeout=3s", "--timeout=1m", "--trace", "--login=never", "get"}, nil, true},
		{"bool with a value", []string{"--trace=false", "get"}, nil, true},
		{"bool as 1", []string{"--trace=1", "get"}, nil, true},
		{"last of a repeated setting wins", []string{"--scope=vso.code", "--scope=vso.code_write", "get"}, nil, true},
		{"empty value", []string{"--tenant=", "get"}, nil, true},
		{"value holding =", []string{"--state-dir=/tmp/a=b", "get"}, nil, true},
		{"environment overrides the line", []string{"--store=keyring", "get"}, map[string]string{"AZDO_STORE": "file", "AZDO_SCOPE": "vso.code"}, true},
		{"environment alone", []string{"get"}, map[string]string{"AZDO_TRACE": "true", "AZDO_LIFETIME": "7d", "AZDO_STATE_DIR": "/tmp/s"}, true},
		{"unrelated environment", []string{"get"}, map[string]string{"AZDO_PASSWORD": "x", "HOME": "/root"}, true},
		{"password login with user", []string{"--login=password", "--username=a@b.example", "get"}, nil, true},

		{"nothing", nil, nil, false},
		{"only a setting", []string{"--trace"}, nil, false},
		{"value in the next argument", []string{"--scope", "vso.code", "get"}, nil, true},
		{"values in next arguments", []string{"--lifetime", "2d", "--trace", "--state-dir", "-x", "get"}, nil, true},
		{"string setting without value", []string{"--scope", "get"}, nil, false},
		{"a setting's name as another's value", []string{"--state-dir", "--trace", "get"}, nil, true},
		{"unknown setting", []string{"--colour=red", "get"}, nil, false},
		{"help", []string{"-h", "get"}, nil, false},
		{"help alone", []string{"--help"}, nil, false},
		{"double dash", []string{"--", "get"}, nil, false},
		{"triple dash", []string{"---trace", "get"}, nil, false},
		{"lone dash", []string{"-", "get"}, nil, false},
		{"two operations", []string{"get", "store"}, nil, false},
		{"setting after the operation", []string{"get", "--trace"}, nil, false},
		{"bad duration", []string{"--lifetime=soon", "get"}, nil, false},
		{"bad bool", []string{"--trace=yes", "get"}, nil, false},
		{"empty bool", []string{"--trace=", "get"}, nil, false},
		{"invalid setting", []string{"--store=vault", "get"}, nil, false},
		{"http authority", []string{"--authority=http://login.example", "get"}, nil, false},
		{"bad environment", []string{"get"}, map[string]string{"AZDO_TIMEOUT": "forever"}, false},
		{"invalid environment", []string{"get"}, map[string]string{"AZDO_LOGIN": "sometimes"}, false},
		{"password login without user", []string{"--login=password", "get"}, nil, false},
		{"empty operation", []string{""}, nil, false},
		{"dash operation", []string{"--trace", "-x"}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, op, ok := ParseHelperLine(tc.args, envOf(tc.env))
			if ok != tc.accept {
				t.Fatalf("ParseHelperLine(%q) ok = %v, want %v", tc.args, ok, tc.accept)
			}
			checkAgreement(t, tc.args, envOf(tc.env), got, op, ok)
		})
	}
}

// checkAgreement fails if ParseHelperLine accepted what flag refuses or read it differently.
func checkAgreement(t *testing.T, args []string, getenv func(string) string, got Config, op string, ok bool) {
	t.Helper()
	if !ok {
		return
	}
	want, wantOp, err := parseWithFlag(args, getenv)
	if err != nil {
		t.Fatalf("ParseHelperLine accepted %q, which the flag package refuses: %v", args, err)
	}
	if op != wantOp || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseHelperLine(%q) = %+v, %q\nflag reads %+v, %q", args, got, op, want, wantOp)
	}
}

func FuzzParseHelperLine(f *testing.F) {
	f.Add("--service-url=https://127.0.0.1:8443\x00--trace\x00get", "file", "", "", "", "")
	f.Add("-lifetime=2d\x00-renew-before=1h\x00store", "", "30d", "1", "", "")
	f.Add("--scope\x00vso.code\x00get", "", "", "", "password", "a@b.example")
	f.Add("--trace=0\x00--\x00get", "keyring", "1s", "yes", "never", "")
	f.Add("--login\x00password\x00--username=u\x00get", "", "", "false", "", "")
	f.Fuzz(func(t *testing.T, line, store, timeout, trace, login, username string) {
		var args []string
		if line != "" {
			args = strings.Split(line, "\x00")
		}
		env := envOf(map[string]string{"AZDO_STORE": store, "AZDO_TIMEOUT": timeout, "AZDO_TRACE": trace,
			"AZDO_LOGIN": login, "AZDO_USERNAME": username})
		got, op, ok := ParseHelperLine(args, env)
		checkAgreement(t, args, env, got, op, ok)
	})
}

func TestSettingsNameTheirVariables(t *testing.T) {
	fields := map[uintptr]string{}
	var c Config
	for _, s := range settings {
		if s.env != EnvName(s.name) {
			t.Errorf("setting %s names variable %s, want %s", s.name, s.env, EnvName(s.name))
		}
		p := reflect.ValueOf(s.field(&c)).Pointer()
		if other, dup := fields[p]; dup {
			t.Errorf("settings %s and %s set the same field", s.name, other)
		}
		fields[p] = s.name
	}
	// Every field but the password (AZDO_PASSWORD only, never on a command line) is a setting.
	if n := reflect.TypeOf(c).NumField() - 1; len(fields) != n {
		t.Errorf("%d settings for %d fields of Config", len(fields), n)
	}
}

func TestDurationValue(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "12h": 12 * time.Hour, "0d": 0, "90m": 90 * time.Minute,
		"106751d": 106751 * 24 * time.Hour} {
		var d durationValue
		if err := d.Set(in); err != nil || time.Duration(d) != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	for _, in := range []string{"", "d", "-1d", "1.5d", "-3h", "soon", "106752d", "213504d", "300000d", "9999999999999999999d"} {
		var d durationValue
		if err := d.Set(in); err == nil {
			t.Errorf("Set(%q) accepted %v", in, time.Duration(d))
		}
	}
}
