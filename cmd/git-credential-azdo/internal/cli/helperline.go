package cli

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/kballard/go-shellquote"
)

// adoptHelperLine makes a command typed by a person act on what git's get acts on: the settings
// on the helper line git runs for the service (its store, authority, scope...) become defaults,
// under AZDO_* variables, which are under what was typed, with a helper line or without. git's
// own operations never come here: their settings arrive on the command line, as the helper line,
// which AZDO_* variables override, and reading git's config would cost a process.
func (inv *invocation) adoptHelperLine() error {
	cfg := config.Defaults()
	fs, err := readHelperLine(context.Background(), &cfg, inv.cfg.ServiceURL)
	if err != nil {
		return fmt.Errorf("%w or run '%s configure'", err, prog)
	}
	// What the person typed wins over the environment, which wins over git's config.
	if err := config.ApplyEnv(fs, inv.getenv); err != nil {
		return err
	}
	if _, err := parseArgs(fs, inv.explicit); err != nil {
		return err
	}
	inv.cfg = cfg
	return nil
}

// readHelperLine sets cfg from the settings on this helper's line in git's config for the service
// (none when git uses another helper there, or none), and returns the flags that set cfg.
func readHelperLine(ctx context.Context, cfg *config.Config, serviceURL string) (*flag.FlagSet, error) {
	url := strings.TrimRight(cmp.Or(serviceURL, "https://dev.azure.com"), "/") + "/"
	fs := flag.NewFlagSet("helper line", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "config", "--get-urlmatch", "credential.helper", url).Output()
	if err != nil {
		return fs, nil
	}
	args, _ := config.HelperArgs(string(out))
	if _, err := parseArgs(fs, args); err != nil {
		return fs, fmt.Errorf("the helper line git uses for %s has a bad setting (%v): fix it with 'git config --global --edit'", url, err)
	}
	return fs, nil
}

// helperCommand is the helper line configure writes: this program's absolute path (PATH's, when
// that is the same file, so that a package manager's link keeps working across upgrades) and the
// settings given to configure. A short name ("azdo") would cost git a second git process on
// every call.
func (inv *invocation) helperCommand() string {
	path := "azdo" // git finds it on PATH, if this program cannot tell where it is
	if self, err := os.Executable(); err == nil {
		path = self
		if onPath, err := exec.LookPath(prog); err == nil {
			a, errA := os.Stat(self)
			b, errB := os.Stat(onPath)
			if errA == nil && errB == nil && os.SameFile(a, b) {
				path, _ = filepath.Abs(onPath)
			}
		}
	}
	settings := inv.explicit
	if inv.cfg.ServiceURL != "" && !slices.ContainsFunc(settings, func(s string) bool { return strings.HasPrefix(s, "--service-url=") }) {
		// From the environment: the section is for this service, so the line must name it too.
		settings = append(slices.Clip(settings), "--service-url="+inv.cfg.ServiceURL)
	}
	return helperLine(path, runtime.GOOS == "windows", settings)
}

// helperLine writes path and args as the shell git runs every helper through (Git for Windows'
// own sh too) reads them. git runs a value as written only if it starts with an absolute path,
// so a path that needs quoting makes the value a shell command ("!"). On Windows the path takes
// forward slashes, which that sh leaves alone and git still takes for absolute (C:/...).
func helperLine(path string, windows bool, args []string) string {
	if windows {
		path = strings.ReplaceAll(path, `\`, "/")
	}
	// shellquote writes what config.HelperArgs, with its Split, reads back.
	line := shellquote.Join(path)
	if line != path {
		line = "!" + line
	}
	if len(args) > 0 {
		line += " " + shellquote.Join(args...)
	}
	return line
}
