package cli

import (
	"context"
	"flag"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
)

// adoptHelperLine makes a command typed by a person act on what git's get acts on: the settings
// on the helper line git runs for the service (its store, authority, scope...) become defaults,
// under AZDO_* variables, which are under what was typed, with a helper line or without. git's
// own operations never come here: their settings arrive on the command line, as the helper line,
// which AZDO_* variables override, and reading git's config would cost a process.
func (inv *invocation) adoptHelperLine(explicit []string) error {
	url := "https://dev.azure.com/"
	if inv.cfg.ServiceURL != "" {
		url = strings.TrimRight(inv.cfg.ServiceURL, "/") + "/"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	line := helperLineArgs(ctx, url)
	cfg := config.Defaults()
	fs := flag.NewFlagSet("helper line", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if _, err := parseArgs(fs, line); err != nil {
		return fmt.Errorf("the helper line git uses for %s has a bad setting (%v): fix it with 'git config --global --edit' or run '%s configure'", url, err, prog)
	}
	// What the person typed wins over the environment, which wins over git's config.
	if err := config.ApplyEnv(fs, inv.getenv); err != nil {
		return err
	}
	if _, err := parseArgs(fs, explicit); err != nil {
		return err
	}
	cfg.Password, cfg.Trace = inv.cfg.Password, inv.cfg.Trace || cfg.Trace
	inv.cfg = cfg
	return nil
}

// helperLineArgs returns the arguments of this helper's line in git's config for url, or nil
// when git uses another helper (or none) there.
func helperLineArgs(ctx context.Context, url string) []string {
	out, err := exec.CommandContext(ctx, "git", "config", "--get-urlmatch", "credential.helper", url).Output()
	if err != nil {
		return nil
	}
	args, _ := config.HelperArgs(string(out))
	return args
}
