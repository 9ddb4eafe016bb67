package config

import (
	"flag"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string // "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"emulator", func(c *Config) { c.ServiceURL, c.Authority = "https://127.0.0.1:8443", "https://127.0.0.1:8443" }, ""},
		{"http authority", func(c *Config) { c.Authority = "http://login.microsoftonline.com" }, "not https"},
		{"http service", func(c *Config) { c.ServiceURL = "http://127.0.0.1:8080" }, "not https"},
		{"authority with a path", func(c *Config) { c.Authority = "https://login.microsoftonline.com/common" }, "just https://host"},
		{"authority with user info", func(c *Config) { c.Authority = "https://user@login.microsoftonline.com" }, "just https://host"},
		{"service with a query", func(c *Config) { c.ServiceURL = "https://proxy.example?x=1" }, "just https://host"},
		{"not a URL", func(c *Config) { c.Authority = "login.microsoftonline.com" }, "not a URL"},
		{"tenant GUID", func(c *Config) { c.Tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47" }, ""},
		{"tenant domain", func(c *Config) { c.Tenant = "contoso.onmicrosoft.com" }, ""},
		{"tenant organizations", func(c *Config) { c.Tenant = "organizations" }, ""},
		{"tenant with a path", func(c *Config) { c.Tenant = "../evil" }, "--tenant"},
		{"tenant with a query", func(c *Config) { c.Tenant = "x?y=1" }, "--tenant"},
		{"client id not a GUID", func(c *Config) { c.ClientID = "my-app" }, "--client-id"},
		{"empty resource", func(c *Config) { c.Resource = "" }, "--resource"},
		{"read-only scope", func(c *Config) { c.Scope = "vso.code" }, ""},
		{"two scopes", func(c *Config) { c.Scope = "vso.code_write vso.packaging" }, ""},
		{"unknown scope", func(c *Config) { c.Scope = "vso.cod" }, "vso.cod"},
		{"empty scope", func(c *Config) { c.Scope = " " }, "--scope is empty"},
		{"lifetime too short", func(c *Config) { c.Lifetime = time.Minute }, "--lifetime"},
		{"negative renew-before", func(c *Config) { c.RenewBefore = -time.Hour }, "--renew-before"},
		{"file store", func(c *Config) { c.Store = "file" }, ""},
		{"unknown store", func(c *Config) { c.Store = "plaintext" }, "--store"},
		{"unknown login", func(c *Config) { c.Login = "sso" }, "--login"},
		{"password without user", func(c *Config) { c.Login = LoginPassword }, "--username"},
		{"password with user", func(c *Config) { c.Login, c.Username = LoginPassword, "svc@contoso.com" }, ""},
		{"zero keyring timeout", func(c *Config) { c.KeyringTimeout = 0 }, "timeouts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			tt.change(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfigEndpoints(t *testing.T) {
	azure := Defaults()
	emu := Defaults()
	emu.ServiceURL = "https://127.0.0.1:8443/"
	for _, tt := range []struct{ got, want string }{
		{azure.ServiceHost(), "dev.azure.com"},
		{azure.OrgURL("contoso"), "https://dev.azure.com/contoso"},
		{azure.PATURL("contoso"), "https://vssps.dev.azure.com/contoso/_apis/tokens/pats"},
		{azure.ProfileURL(), "https://app.vssps.visualstudio.com/_apis"},
		{azure.AuthorityURL("organizations"), "https://login.microsoftonline.com/organizations"},
		{emu.ServiceHost(), "127.0.0.1:8443"},
		{emu.OrgURL("contoso"), "https://127.0.0.1:8443/contoso"},
		{emu.PATURL("contoso"), "https://127.0.0.1:8443/contoso/_apis/tokens/pats"},
		{emu.ProfileURL(), "https://127.0.0.1:8443/_apis"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestBaseHost(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{ // want "" = refused
		{"https://login.microsoftonline.com", "login.microsoftonline.com"},
		{"https://dev.azure.com/", "dev.azure.com"},
		{"https://127.0.0.1:35903", "127.0.0.1:35903"},
		{"HTTPS://Login.Example.COM:443//", "login.example.com:443"},
		{"https://[::1]:8443", "[::1]:8443"},
		{"https://[fe80::1]", "[fe80::1]"},
		{"https://[::ffff:1.2.3.4]", "[::ffff:1.2.3.4]"},
		{"https://my_proxy.corp.example", "my_proxy.corp.example"},
		{"https://[:0]", ""},
		{"https://[1.2.3.4]", ""},
		{"https://[fe80::1%25eth0]", ""},
		{"https://[::1", ""},
		{"https://::1", ""},
		{"https://1.2.3.999", ""},
		{"https://256.0.0.1:443", ""},
		{"http://dev.azure.com", ""},
		{"https://", ""},
		{"https:///path", ""},
		{"https://user@dev.azure.com", ""},
		{"https://user:pw@dev.azure.com", ""},
		{"https://dev.azure.com/org", ""},
		{"https://dev.azure.com?x=1", ""},
		{"https://dev.azure.com?", ""},
		{"https://dev.azure.com#frag", ""},
		{"https://dev.azure.com:", ""},
		{"https://dev.azure.com:0", ""},
		{"https://dev.azure.com:0443", ""},
		{"https://dev.azure.com:65536", ""},
		{"https://dev.azure.com:http", ""},
		{"https://dev%2eazure.com", ""},
		{"https://dev azure.com", ""},
		{"https://dev.azure.com\\@evil.example", ""},
		{"https://évil.example", ""},
		{"https://a!b.example", ""},
		{"dev.azure.com", ""},
	} {
		got, ok := baseHost(tc.raw)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("baseHost(%q) = %q, %v; want %q", tc.raw, got, ok, tc.want)
		}
	}
}

func TestIsGUID(t *testing.T) {
	for _, s := range []string{DefaultClientID, DefaultResource, "00000000-0000-0000-0000-000000000000", "872CD9FA-D31F-45E0-9EAB-6E460A02D1F1"} {
		if !IsGUID(s) {
			t.Errorf("IsGUID(%q) = false", s)
		}
	}
	for _, s := range []string{
		"", "872cd9fa-d31f-45e0-9eab-6e460a02d1f", "872cd9fa-d31f-45e0-9eab-6e460a02d1f1a", "872cd9fa_d31f-45e0-9eab-6e460a02d1f1",
		"872cd9fa-d31f-45e0-9eab-6e460a02d1fg", "872cd9fad-31f-45e0-9eab-6e460a02d1f1", "{872cd9fa-d31f-45e0-9eab-6e460a02d1f1}",
		"872cd9fa-d31f-45e0-9eab-6e460a02d1f1\n", "------------------------------------",
	} {
		if IsGUID(s) {
			t.Errorf("IsGUID(%q) = true", s)
		}
	}
}

func TestValidTenant(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	for _, s := range []string{"organizations", "common", "consumers", DefaultResource, "contoso.onmicrosoft.com", "a.b",
		"A-1.b-2.C3", "x--y.z", label63 + ".com"} {
		if !ValidTenant(s) {
			t.Errorf("ValidTenant(%q) = false", s)
		}
	}
	for _, s := range []string{"", "contoso", label63 + "a.com", ".a.b", "a.b.", "a..b", "-a.b", "a-.b", "a_b.c", "a b.c",
		"a.b/c", "a.b?x", "é.com", "a.b\n", "../evil", "0%2e0"} {
		if ValidTenant(s) {
			t.Errorf("ValidTenant(%q) = true", s)
		}
	}
}

func TestAbsPath(t *testing.T) {
	home := testenv.TempDir(t)
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home) // os.UserHomeDir's source on Windows
	for in, want := range map[string]string{"": "", "~/s": filepath.Join(home, "s"), home + "/x": home + "/x"} {
		if got, err := AbsPath("state-dir", in); err != nil || got != want {
			t.Errorf("AbsPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"s", "./s", "~s", "~", "../s"} {
		if _, err := AbsPath("state-dir", in); err == nil || !strings.Contains(err.Error(), "--state-dir") {
			t.Errorf("AbsPath(%q): err = %v, want one naming --state-dir", in, err)
		}
	}
}

func TestRelativeXDGStateHomeIgnored(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("XDG_STATE_HOME is read on Linux only")
	}
	home := testenv.TempDir(t)
	t.Setenv("HOME", home)
	t.Setenv("XDG_STATE_HOME", "relative")
	if dir, err := DefaultStateDir(); err != nil || dir != filepath.Join(home, ".local", "state", "git-credential-azdo") {
		t.Errorf("DefaultStateDir() = %q, %v; want the one under HOME", dir, err)
	}
}

// TestPasswordGoesOnlyWhereTheHelperLineSays: ROPC sends the user's password to the authority, so
// an authority that is not Microsoft's must be named on git's helper line or the command line,
// not by AZDO_AUTHORITY alone, which anything that sets a variable for git could have set.
func TestPasswordGoesOnlyWhereTheHelperLineSays(t *testing.T) {
	const custom = "https://idp.example"
	tests := []struct {
		name      string
		line      []string          // git's helper line (or the command line of git's operations)
		env       map[string]string // AZDO_*
		typed     []string          // typed by a person, over the environment
		wantError bool
	}{
		{"custom authority from the environment", nil, map[string]string{"AZDO_AUTHORITY": custom}, nil, true},
		{"password and authority both from the environment", []string{"--login=device"}, map[string]string{"AZDO_AUTHORITY": custom, "AZDO_LOGIN": "password"}, nil, true},
		{"another authority than the helper line's", []string{"--authority=https://other.example"}, map[string]string{"AZDO_AUTHORITY": custom}, nil, true},
		{"custom authority on the helper line", []string{"--authority=" + custom}, nil, nil, false},
		{"the helper line's authority again in the environment", []string{"--authority=" + custom}, map[string]string{"AZDO_AUTHORITY": custom}, nil, false},
		{"typed over the environment", nil, map[string]string{"AZDO_AUTHORITY": custom}, []string{"--authority=" + custom}, false},
		{"a sovereign Microsoft cloud from the environment", nil, map[string]string{"AZDO_AUTHORITY": "https://login.microsoftonline.us"}, nil, false},
		{"a Microsoft host on another port", nil, map[string]string{"AZDO_AUTHORITY": "https://login.microsoftonline.com:8443"}, nil, true},
		{"device code from a custom authority in the environment", []string{"--login=device"}, map[string]string{"AZDO_AUTHORITY": custom}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			fs := flag.NewFlagSet("", flag.ContinueOnError)
			c.RegisterFlags(fs)
			if err := fs.Parse(append([]string{"--login=password", "--username=svc@contoso.com"}, tt.line...)); err != nil {
				t.Fatal(err)
			}
			if err := ApplyEnv(fs, func(k string) string { return tt.env[k] }); err != nil {
				t.Fatal(err)
			}
			if err := fs.Parse(tt.typed); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			if !tt.wantError {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			want := "--login=password would send your password to " + c.Authority + ", which only AZDO_AUTHORITY names: put --authority=" + c.Authority + " on git's helper line"
			if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Validate() = %v, want one line starting %q", err, want)
			}
		})
	}
}
