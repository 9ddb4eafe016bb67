package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
)

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s [settings] COMMAND [arguments]\n\n", prog)
	fmt.Fprintf(w, "A git credential helper for Azure DevOps: sign in once, and git gets a short-lived,\n")
	fmt.Fprintf(w, "code-scoped PAT for each organisation, cached in the OS keyring and renewed silently.\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-12s %s\n", "help", "show help for a command")
	fmt.Fprintf(w, "\nSettings (every command; also AZDO_<NAME> in the environment, e.g. AZDO_SCOPE):\n")
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	cfg := config.Defaults()
	cfg.RegisterFlags(fs)
	fs.VisitAll(func(f *flag.Flag) { printFlag(w, f, true) })
	fmt.Fprintf(w, "\nExit codes: 0 success, 1 error, 2 usage error, 3 sign-in required but not allowed here.\n")
}

// commandUsage prints c's usage and its own flags; the settings every command takes are in usage.
func commandUsage(w io.Writer, c command) {
	fmt.Fprintf(w, "usage: %s %s %s\n\n%s.\n\n", prog, c.name, c.args, strings.ToUpper(c.summary[:1])+c.summary[1:])
	fs := flag.NewFlagSet(prog+" "+c.name, flag.ContinueOnError)
	c.flags(fs)
	var own strings.Builder
	fs.VisitAll(func(f *flag.Flag) { printFlag(&own, f, false) })
	if own.Len() > 0 {
		fmt.Fprintf(w, "Flags:\n%s", own.String())
	}
	fmt.Fprintf(w, "\nEvery setting of '%s help' is accepted too.\n", prog)
}

func helpCmd(stdout, stderr io.Writer, args []string) int {
	if len(args) == 0 {
		usage(stdout)
		return exitOK
	}
	c, ok := lookup(args[0])
	if !ok {
		return fail(stderr, exitUsage, fmt.Errorf("unknown command %q: see '%s help'", args[0], prog))
	}
	commandUsage(stdout, c)
	return exitOK
}

// printFlag prints one flag the way users type it (--name VALUE), with its default and, for
// settings, the environment variable that overrides it.
func printFlag(w io.Writer, f *flag.Flag, setting bool) {
	name, text := flag.UnquoteUsage(f)
	if name != "" {
		name = " " + name
	}
	fmt.Fprintf(w, "  --%s%s\n      %s", f.Name, name, text)
	if f.DefValue != "" && f.DefValue != "false" {
		fmt.Fprintf(w, " (default %s)", f.DefValue)
	}
	if setting {
		fmt.Fprintf(w, " [%s]", config.EnvName(f.Name))
	}
	fmt.Fprintln(w)
}
