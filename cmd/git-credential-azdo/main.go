// Command git-credential-azdo is a git credential helper for Azure DevOps: it signs you in to
// Entra ID, mints a narrowly scoped PAT for the organisation, keeps it in the OS keyring and
// renews it before it expires. git runs it for its get, store and erase; every other command is
// for a person. See README.md.
package main

import (
	"fmt"
	"os"

	"github.com/git-credential-azdo/git-credential-azdo/cmd/git-credential-azdo/internal/cli"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/harden"
)

func main() {
	// Before any secret is read. A sandbox that forbids this leaves the process as dumpable as
	// any other, which only matters if it crashes; refusing to run would break every fetch for
	// a setting the user may not control, so the helper says so and goes on.
	if err := harden.NoCoreDumps(); err != nil {
		fmt.Fprintf(os.Stderr, "git-credential-azdo: warning: %v: a crash could write secrets to a core dump\n", err)
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
