// Command git-credential-azdo is a git credential helper for Azure DevOps: it signs you in to
// Entra ID, mints a narrowly scoped PAT for the organisation, keeps it in the OS keyring and
// renews it before it expires. git runs it for its get, store and erase; every other command is
// for a person. See README.md.
package main

import (
	"os"

	"github.com/git-credential-azdo/git-credential-azdo/cmd/git-credential-azdo/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
