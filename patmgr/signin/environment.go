package signin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
)

// Environment is what decides whether and how this process may ask the user to sign in. Tests
// swap it; real runs use HostEnvironment.
type Environment struct {
	Getenv      func(string) string
	GitConfig   func(ctx context.Context, key string) (string, bool) // nil: do not ask git
	HasTerminal func() bool
	HasBrowser  func() bool
}

// HostEnvironment reads the real process environment. GitConfig starts a git process, so it is
// only called on the way to an interactive sign-in, never on the cached path.
func HostEnvironment() Environment {
	return Environment{
		Getenv:      os.Getenv,
		GitConfig:   gitConfigValue,
		HasTerminal: hasTerminal,
		HasBrowser:  func() bool { return hasBrowser(os.Getenv) },
	}
}

// chooseMethod picks the interactive sign-in method allowed here, or explains why none is, naming
// the command (signIn) to sign in ahead of time. org is "" for a sign-in that is for no
// organisation in particular (orgs).
func chooseMethod(ctx context.Context, cfg *config.Config, env Environment, org string, signIn func(args ...string) string) (string, error) {
	what, login, loginDevice := "your organisations", signIn(), signIn("--device")
	if org != "" {
		what, login, loginDevice = org, signIn(org), signIn("--device", org)
	}
	if cfg.Login == config.LoginNever {
		return "", fmt.Errorf("%w for %s, and --login=never forbids prompting: run '%s'", ErrRequired, what, login)
	}
	if cfg.Login == config.LoginPassword {
		return config.LoginPassword, nil // explicit, non-interactive by nature
	}
	if env.Getenv("GIT_TERMINAL_PROMPT") == "0" {
		return "", fmt.Errorf("%w for %s, and GIT_TERMINAL_PROMPT=0 forbids prompting: run '%s' first", ErrRequired, what, login)
	}
	if env.GitConfig != nil {
		if v, ok := env.GitConfig(ctx, "credential.interactive"); ok {
			switch strings.ToLower(v) {
			case "false", "never", "no", "off", "0":
				return "", fmt.Errorf("%w for %s, and credential.interactive=%s forbids prompting: run '%s' first", ErrRequired, what, v, login)
			}
		}
	}
	switch cfg.Login {
	case config.LoginDevice:
		return config.LoginDevice, nil // the message goes to stderr even with no terminal: the user asked
	case config.LoginBrowser:
		if !env.HasBrowser() {
			return "", fmt.Errorf("%w for %s, --login=browser was asked for, but no browser can be opened here: use --login=device", ErrRequired, what)
		}
		return config.LoginBrowser, nil
	}
	if env.HasBrowser() {
		return config.LoginBrowser, nil
	}
	if env.HasTerminal() {
		return config.LoginDevice, nil
	}
	return "", fmt.Errorf("%w for %s, and there is neither a browser nor a terminal here: run '%s' in a terminal", ErrRequired, what, loginDevice)
}

// hasBrowser guesses whether a browser on this machine would reach the user: not over SSH, and on
// Linux only with a display and an opener.
func hasBrowser(getenv func(string) string) bool {
	if getenv("BROWSER") != "" {
		return true // the user named one, as git and gh honour
	}
	if getenv("SSH_CONNECTION") != "" || getenv("SSH_TTY") != "" {
		return false
	}
	switch runtime.GOOS {
	case "windows", "darwin":
		return true
	}
	if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
		return false
	}
	for _, opener := range []string{"xdg-open", "x-www-browser", "www-browser"} {
		if _, err := exec.LookPath(opener); err == nil {
			return true
		}
	}
	return false
}

// hasTerminal reports whether the user can read a device code: git keeps stderr on the terminal.
func hasTerminal() bool {
	tty := "/dev/tty"
	if runtime.GOOS == "windows" {
		tty = "CONOUT$"
	}
	f, err := os.OpenFile(tty, os.O_WRONLY, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

func gitConfigValue(ctx context.Context, key string) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "config", "--get", key).Output()
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(out)), true
}
