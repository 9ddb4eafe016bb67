// The front lives a few milliseconds: the runtime's background re-reading of the cgroup's CPU
// limit (to update GOMAXPROCS) costs it more than a better GOMAXPROCS could save.
//go:debug updatemaxprocs=0

// Command git-credential-azdo is a git credential helper for Azure DevOps: it signs you in to
// Entra ID, mints a narrowly scoped PAT for the organisation, keeps it in the OS keyring and
// renews it before it expires. See README.md.
//
// This binary is the light front git runs on every fetch and push: it serves the cached PAT and
// hands everything else to git-credential-azdo-full, installed beside it.
package main

import (
	"os"

	"github.com/git-credential-azdo/git-credential-azdo/helper"
)

func main() {
	os.Exit(helper.Front(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
