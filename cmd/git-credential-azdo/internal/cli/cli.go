// Package cli is git-credential-azdo: git's get, store and erase, and every command a person
// types. git's operations read their settings with the same flags as every command, and build
// nothing before the request is known to be ours: patmgr.Manager signs in and connects only
// when the cache cannot answer.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/helper"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/redact"
)

// Exit codes, documented in README.md and in `help`.
const (
	exitOK             = 0
	exitError          = 1
	exitUsage          = 2
	exitSignInRequired = 3
)

const prog = "git-credential-azdo"

// invocation is one run of the program: its settings and streams.
type invocation struct {
	cfg    config.Config
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// explicit holds the settings given on the command line, as --name=value in name order:
	// they win over the environment and git's config, and configure writes them on its line.
	explicit []string
}

type command struct {
	name    string
	args    string // usage of positional arguments and command flags
	summary string
	// flags declares the command's own flags and returns the command, which is given the
	// positional arguments.
	flags func(fs *flag.FlagSet) runFunc
}

type runFunc = func(ctx context.Context, inv *invocation, args []string) error

func commands() []command {
	return []command{
		{"get", "", "git's credential protocol: print a credential for the request on stdin", helperOp("get")},
		{"store", "", "git's credential protocol: a credential worked (nothing to do)", helperOp("store")},
		{"erase", "", "git's credential protocol: a credential was refused (replace it next time)", helperOp("erase")},
		{"configure", "[--global|--system|--local|--file=PATH]", "set this helper for Azure DevOps in git's config", configureCmd(true)},
		{"unconfigure", "[--global|--system|--local|--file=PATH]", "remove exactly what configure added", configureCmd(false)},
		{"login", "[ORG] [--device|--browser]", "sign in ahead of time and mint the PAT", loginCmd},
		{"logout", "ORG...|--all", "revoke this tool's PATs and delete every cached secret", logoutCmd},
		{"status", "[--json]", "show each organisation's PAT: account, scope, expiry, cache, renewal", statusCmd},
		{"list", "ORG [--all] [--json]", "list the organisation's PATs from Azure DevOps", listCmd},
		{"renew", "[ORG...|--all] [--json]", "renew PATs inside their renewal window, never prompting (for cron)", renewCmd},
		{"revoke", "ORG AUTHORIZATION-ID", "revoke one PAT", revokeCmd},
		{"orgs", "[--json]", "list the organisations of the signed-in user", orgsCmd},
		{"doctor", "[ORG] [--json]", "check git, the keyring, the authority and the organisation; print fixes", doctorCmd},
		{"version", "", "print the version", versionCmd},
	}
}

// Main runs one invocation and returns its exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	inv := &invocation{cfg: config.Defaults(), stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	patmgr.Version = version()

	global := flag.NewFlagSet(prog, flag.ContinueOnError)
	inv.cfg.RegisterFlags(global)
	global.SetOutput(io.Discard)
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return exitOK
		}
		return fail(stderr, exitUsage, fmt.Errorf("%w: see '%s help'", err, prog))
	}
	rest := global.Args()
	if len(rest) == 0 {
		return fail(stderr, exitUsage, fmt.Errorf("no command given: see '%s help'", prog))
	}
	name, rest := rest[0], rest[1:]
	if name == "help" {
		return helpCmd(stdout, stderr, rest)
	}
	cmd, ok := lookup(name)
	if !ok {
		// git may add operations one day; the protocol says to ignore what we do not know.
		if !strings.Contains(name, "-") && isHelperInvocation(stdin) {
			return exitOK
		}
		return fail(stderr, exitUsage, fmt.Errorf("unknown command %q: see '%s help'", name, prog))
	}

	fs := flag.NewFlagSet(prog+" "+name, flag.ContinueOnError)
	inv.cfg.RegisterFlags(fs)
	runCmd := cmd.flags(fs)
	positional, err := parseArgs(fs, rest)
	if errors.Is(err, flag.ErrHelp) {
		commandUsage(stdout, cmd)
		return exitOK
	}
	if err != nil {
		return fail(stderr, exitUsage, fmt.Errorf("%s: %w: see '%s %s --help'", name, err, prog, name))
	}
	// A setting given before the command and after it is one setting, with the last value (both
	// flag sets write the same field).
	given := map[string]bool{}
	global.Visit(func(f *flag.Flag) { given[f.Name] = true })
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	global.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			inv.explicit = append(inv.explicit, "--"+f.Name+"="+f.Value.String())
		}
	})
	if err := config.ApplyEnv(fs, getenv); err != nil && name != "version" { // see Validate below
		return fail(stderr, exitUsage, err)
	}
	if !helper.IsOperation(name) {
		// A person typed it: what they typed wins over the environment, in choosing the helper
		// line to read too (configure would otherwise set the helper for one service and name
		// another on its line). For git's operations the command line is the helper line, which
		// the environment overrides.
		if _, err := parseArgs(fs, inv.explicit); err != nil {
			return fail(stderr, exitUsage, err)
		}
	}
	if readsHelperLine[name] {
		if err := inv.adoptHelperLine(); err != nil {
			return fail(stderr, exitUsage, err)
		}
	}
	inv.cfg.Password = getenv("AZDO_PASSWORD")
	redact.Hide(inv.cfg.Password) // masked from every error and trace line, as the tokens are
	// A bad setting is an error in how the program was called (exit 2), whichever command meets
	// it first; version still answers, so a broken environment can be reported.
	if name != "version" {
		if err := inv.cfg.Validate(); err != nil {
			return fail(stderr, exitUsage, err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), inv.cfg.Timeout)
	defer cancel()
	// git's operations leave Ctrl-C and SIGTERM to their default, ending the process: git, in the
	// same process group, ends too; the kernel frees the locks; the store is written by renames
	// and a create cut short is settled by the next run from its journal. Catching them would
	// cost every get a thread for nothing. A person's commands stop cleanly.
	if !helper.IsOperation(name) {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	if err := runCmd(ctx, inv, positional); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("%w (--timeout %s)", err, inv.cfg.Timeout)
		}
		code := exitError
		switch {
		case errors.As(err, new(usageError)):
			code = exitUsage
		case errors.Is(err, patmgr.ErrSignInRequired):
			code = exitSignInRequired
		}
		return fail(stderr, code, err)
	}
	return exitOK
}

// parseArgs parses flags wherever they stand among the positional arguments, up to "--".
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), nil // Parse took "--": the rest is positional
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// isHelperInvocation tells git, which pipes a request (key=value lines), from a person or a
// script that mistyped a command: a terminal, an empty stdin or anything else gets the usage error.
func isHelperInvocation(stdin io.Reader) bool {
	if f, ok := stdin.(*os.File); ok {
		if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice != 0 {
			return false
		}
	}
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		first <- line
	}()
	select {
	case line := <-first:
		key, _, ok := strings.Cut(line, "=")
		return ok && key != "" && !strings.ContainsAny(key, " \t")
	case <-time.After(2 * time.Second):
		return false // git writes its request at once; a silent pipe is not git
	}
}

// readsHelperLine lists the commands a person runs, which take their defaults from the helper
// line git uses (see adoptHelperLine).
var readsHelperLine = map[string]bool{
	"login": true, "logout": true, "status": true, "list": true, "renew": true, "revoke": true, "orgs": true, "doctor": true,
}

func lookup(name string) (command, bool) {
	cmds := commands()
	if i := slices.IndexFunc(cmds, func(c command) bool { return c.name == name }); i >= 0 {
		return cmds[i], true
	}
	return command{}, false
}

// usageError marks an error in how the command was called (exit 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// fail prints err as the single line a user sees, prefixed with the program name. It may quote
// a server, so it goes through redact.Line: no terminal control, no secret.
func fail(stderr io.Writer, code int, err error) int {
	fmt.Fprintf(stderr, "%s: %s\n", prog, redact.Line(strings.ReplaceAll(err.Error(), "\n", "; ")))
	return code
}

func helperOp(op string) func(fs *flag.FlagSet) runFunc {
	return func(fs *flag.FlagSet) runFunc {
		return func(ctx context.Context, inv *invocation, _ []string) error {
			return helper.Run(ctx, op, helper.Options{
				Credentials: func() (helper.Credentials, error) { return inv.manager() },
				ServiceHost: inv.cfg.CustomServiceHost(),
				Stdin:       inv.stdin,
				Stdout:      inv.stdout,
			})
		}
	}
}

// now is the helper's clock. The end-to-end tests' build moves it ahead (testdata/testclock.go,
// added with go build -overlay) to step into a renewal window without waiting for it.
var now = time.Now

func (inv *invocation) manager() (*patmgr.Manager, error) {
	return patmgr.New(inv.cfg, patmgr.Options{Stderr: inv.stderr, Now: now})
}

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

func versionCmd(fs *flag.FlagSet) runFunc {
	return func(_ context.Context, inv *invocation, args []string) error {
		if len(args) > 0 {
			return usagef("version takes no arguments")
		}
		fmt.Fprintf(inv.stdout, "%s %s\n", prog, version())
		return nil
	}
}
