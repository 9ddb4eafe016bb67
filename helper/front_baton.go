//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package helper

import (
	"context"
	"os/exec"
	"runtime"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/orglock"
)

// missed handles a get the cache cannot serve. git and IDEs start many gets at once, and each
// full program costs tens of milliseconds to start: so of the gets that miss together, the one
// that takes the organisation's lock hands it, with the get, to the full program, and the others
// wait for that program to finish and serve what it stored.
func (c *cacheOnly) missed(ctx context.Context, key string) (cache.Credential, error) {
	if err := c.cfg.ResolveStateDir(); err != nil {
		return cache.Credential{}, errHandOver // the full program explains it
	}
	dir := c.cfg.StateDir
	l, err := orglock.TryAcquire(dir, key)
	if err != nil {
		return cache.Credential{}, errHandOver // the full program meets it too, and explains it
	}
	if l != nil {
		// Another process may have stored the PAT between the look-up and the lock.
		if cred, ok, err := c.lookup(ctx, key); ok && err == nil {
			l.Unlock()
			return cred, nil
		}
		c.baton = l
		return cache.Credential{}, errHandOver
	}
	// As long as the full program would wait. A full program this get hands over to after the
	// wait has only what is left of it: the wait and the program together are the one get git
	// waits for.
	c.deadline = time.Now().Add(c.cfg.Timeout)
	wait, cancel := context.WithDeadline(ctx, c.deadline)
	defer cancel()
	// While a system call blocks, Go's runtime keeps the call's processor (P) for up to 10 ms in
	// case it returns soon, checking every 20 µs at first, as long as another P is idle; with one
	// P it hands it back at once and the process sleeps. That halves the CPU a wait costs
	// (BenchmarkWaitUnlocked), CPU the full program being waited for needs. What this process
	// does after the wait needs no second P.
	runtime.GOMAXPROCS(1)
	if _, err := orglock.WaitUnlocked(wait, dir, key); err != nil {
		if wait.Err() != nil {
			return cache.Credential{}, err
		}
		return cache.Credential{}, errHandOver
	}
	if cred, ok, err := c.lookup(ctx, key); ok && err == nil {
		return cred, nil
	}
	// The holder did not store a PAT (a sign-in failed, or it was not a get): the full program
	// takes its turn at the lock like any other.
	return cache.Credential{}, errHandOver
}

// start starts cmd, which inherits baton if there is one.
func start(cmd *exec.Cmd, baton *orglock.Lock) error {
	if baton == nil {
		return cmd.Start()
	}
	baton.PassTo(cmd)
	err := cmd.Start()
	// From here the full program holds the lock alone, and the OS releases it when the program
	// ends (it dies with this one); if it did not start, this releases the lock.
	baton.Close()
	return err
}
