// Command git-credential-azdo-full is git-credential-azdo's full program: sign-in, PAT creation
// and renewal, and every command. git runs git-credential-azdo, whose light front serves cached
// credentials and hands everything else to this, installed beside it.
package main

import (
	"os"

	"github.com/git-credential-azdo/git-credential-azdo/cmd/git-credential-azdo/internal/cli"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/orglock"
)

func main() {
	// Before anything could start a process: a lock the front passed on stays this process's.
	orglock.Claim()
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
