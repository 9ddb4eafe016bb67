//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package helper

import (
	"context"
	"os/exec"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/orglock"
)

// missed hands the get over: here a lock cannot pass to the full program (see orglock), which
// waits for other processes itself.
func (c *cacheOnly) missed(context.Context, string) (cache.Credential, error) {
	return cache.Credential{}, errHandOver
}

// start starts cmd; baton is always nil here.
func start(cmd *exec.Cmd, _ *orglock.Lock) error { return cmd.Start() }
