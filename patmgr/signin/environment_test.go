package signin

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
)

func TestChooseMethod(t *testing.T) {
	type env struct {
		prompt      string // GIT_TERMINAL_PROMPT
		interactive string // credential.interactive; "" = unset
		terminal    bool
		browser     bool
	}
	tests := []struct {
		name    string
		login   string
		env     env
		want    string
		wantErr string // substring; "" = no error
	}{
		{"auto prefers the browser", config.LoginAuto, env{terminal: true, browser: true}, config.LoginBrowser, ""},
		{"auto falls back to device code on a terminal", config.LoginAuto, env{terminal: true}, config.LoginDevice, ""},
		{"auto with neither fails fast", config.LoginAuto, env{}, "", "git-credential-azdo login --device"},
		{"GIT_TERMINAL_PROMPT=0 forbids prompting", config.LoginAuto, env{prompt: "0", terminal: true, browser: true}, "", "GIT_TERMINAL_PROMPT=0"},
		{"GIT_TERMINAL_PROMPT=1 allows it", config.LoginAuto, env{prompt: "1", terminal: true}, config.LoginDevice, ""},
		{"credential.interactive=false", config.LoginAuto, env{interactive: "false", browser: true}, "", "credential.interactive=false"},
		{"credential.interactive=never", config.LoginDevice, env{interactive: "never"}, "", "credential.interactive=never"},
		{"credential.interactive=true", config.LoginAuto, env{interactive: "true", browser: true}, config.LoginBrowser, ""},
		{"credential.interactive=auto", config.LoginAuto, env{interactive: "auto", terminal: true}, config.LoginDevice, ""},
		{"explicit device works without a terminal", config.LoginDevice, env{}, config.LoginDevice, ""},
		{"explicit device still honours GIT_TERMINAL_PROMPT=0", config.LoginDevice, env{prompt: "0"}, "", "GIT_TERMINAL_PROMPT=0"},
		{"explicit browser with a browser", config.LoginBrowser, env{browser: true}, config.LoginBrowser, ""},
		{"explicit browser without one", config.LoginBrowser, env{terminal: true}, "", "--login=device"},
		{"password is explicit and needs no terminal", config.LoginPassword, env{prompt: "0"}, config.LoginPassword, ""},
		{"never prompts", config.LoginNever, env{terminal: true, browser: true}, "", "--login=never"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Defaults()
			cfg.Login = tt.login
			e := Environment{
				Getenv: func(k string) string {
					if k == "GIT_TERMINAL_PROMPT" {
						return tt.env.prompt
					}
					return ""
				},
				GitConfig: func(_ context.Context, key string) (string, bool) {
					if key != "credential.interactive" {
						t.Errorf("asked git for %q", key)
					}
					return tt.env.interactive, tt.env.interactive != ""
				},
				HasTerminal: func() bool { return tt.env.terminal },
				HasBrowser:  func() bool { return tt.env.browser },
			}
			got, err := chooseMethod(context.Background(), &cfg, e, "contoso", login)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("chooseMethod = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("chooseMethod error = %v; want it to mention %q", err, tt.wantErr)
			}
			if !errors.Is(err, ErrRequired) {
				t.Fatalf("error %v does not wrap ErrRequired", err)
			}
		})
	}
}

// login words the sign-in command as the manager does for default settings.
func login(args ...string) string {
	return strings.Join(append([]string{"git-credential-azdo", "login"}, args...), " ")
}

// The command a "cannot prompt here" message names must be one that works: the organisation as
// login's argument after its flags, and none for a sign-in for no organisation (orgs).
func TestChooseMethodNamesACommandThatWorks(t *testing.T) {
	none := Environment{Getenv: func(string) string { return "" }, HasTerminal: func() bool { return false }, HasBrowser: func() bool { return false }}
	never := config.Defaults()
	never.Login = config.LoginNever
	for _, tc := range []struct {
		cfg  config.Config
		org  string
		want string
	}{
		{config.Defaults(), "contoso", "sign-in required for contoso, and there is neither a browser nor a terminal here: run 'git-credential-azdo login --device contoso' in a terminal"},
		{config.Defaults(), "", "sign-in required for your organisations, and there is neither a browser nor a terminal here: run 'git-credential-azdo login --device' in a terminal"},
		{never, "contoso", "sign-in required for contoso, and --login=never forbids prompting: run 'git-credential-azdo login contoso'"},
		{never, "", "sign-in required for your organisations, and --login=never forbids prompting: run 'git-credential-azdo login'"},
	} {
		_, err := chooseMethod(context.Background(), &tc.cfg, none, tc.org, login)
		if err == nil || err.Error() != tc.want {
			t.Errorf("org %q, --login=%s:\n got %v\nwant %s", tc.org, tc.cfg.Login, err, tc.want)
		}
	}
}

func TestHasBrowser(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	// Over SSH a browser would open on the remote machine's display, not the user's.
	if hasBrowser(env(map[string]string{"SSH_CONNECTION": "1.2.3.4 5 6.7.8.9 22", "DISPLAY": ":0"})) {
		t.Error("a browser was offered over SSH")
	}
	if hasBrowser(env(map[string]string{"SSH_TTY": "/dev/pts/1"})) {
		t.Error("a browser was offered over SSH (SSH_TTY)")
	}
}
