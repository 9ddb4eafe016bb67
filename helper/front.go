package helper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/orglock"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// FullProgram is the name of the program that does everything the front does not: sign-in,
// PAT creation and renewal, and every command a person types. It is installed beside the front.
const FullProgram = "git-credential-azdo-full"

// errHandOver means the front cannot answer alone.
var errHandOver = errors.New("not served from the cache")

// Front is git-credential-azdo as git runs it. git starts it for every fetch and push, and most
// of the time the cached PAT is good: Front serves those gets, and every store, without linking
// the sign-in stack (MSAL, net/http), which would cost milliseconds of start-up each time.
// Everything else it hands, with the same arguments and input, to FullProgram.
func Front(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	// Settings stand before the operation on git's helper line. Anything unusual (a bad setting,
	// a command, help) is the full program's to answer, with its messages.
	cfg, op, ok := config.ParseHelperLine(args, getenv)
	// A trace is asked for to see what the helper does: the full program has the tracer.
	if !ok || cfg.Trace || op != "get" && op != "store" {
		return handOver(args, stdin, stdout, stderr, nil)
	}
	// The full program must see the request exactly as git sent it.
	var seen bytes.Buffer
	// Each keyring call has its own bound, and a wait for another process to sign in has the
	// whole-operation deadline (see missed), so a get served from the cache sets no timer.
	ctx := context.Background()
	front := &cacheOnly{cfg: &cfg}
	err := Run(ctx, op, Options{
		Credentials: func() (Credentials, error) {
			st, err := config.OpenStore(&cfg)
			if err != nil {
				return nil, errHandOver // the full program explains a store it cannot open
			}
			front.store = st
			return front, nil
		},
		ServiceHost: cfg.CustomServiceHost(),
		Stdin:       io.TeeReader(stdin, &seen),
		Stdout:      stdout,
	})
	switch {
	case errors.Is(err, errHandOver):
		// The request as read, not the rest of stdin: a caller that waits for the answer before
		// closing stdin (a person typing, a tool) would otherwise never get one, as the copy to
		// the full program waits for stdin's end.
		return handOver(args, bytes.NewReader(seen.Bytes()), stdout, stderr, front.baton, front.timeLeft()...)
	case err != nil:
		fmt.Fprintf(stderr, "git-credential-azdo: %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return 1
	}
	return 0
}

// cacheOnly answers from the cache alone; anything more is handed over.
type cacheOnly struct {
	cfg   *config.Config
	store store.Store
	// baton is the organisation's lock, taken for the full program to inherit with the get.
	baton *orglock.Lock
	// deadline is when the get's --timeout ends, once a wait for another process started it.
	deadline time.Time
}

// timeLeft is the environment that gives the full program what is left of --timeout, if a wait
// used some of it: to the millisecond, never more (rounding could give it half a second over).
func (c *cacheOnly) timeLeft() []string {
	if c.deadline.IsZero() {
		return nil
	}
	left := max(time.Until(c.deadline).Truncate(time.Millisecond), time.Second)
	return []string{config.EnvName("timeout") + "=" + left.String()}
}

func (c *cacheOnly) Credential(ctx context.Context, t cache.Target) (cache.Credential, error) {
	key := cache.Key(c.cfg.ServiceHost(), t.Org, t.Account)
	cred, ok, err := c.lookup(ctx, key)
	if err != nil {
		// The full program explains a keyring problem in its own words.
		return cache.Credential{}, errHandOver
	}
	if !ok {
		return c.missed(ctx, key)
	}
	return cred, nil
}

func (c *cacheOnly) lookup(ctx context.Context, key string) (cache.Credential, bool, error) {
	return cache.Lookup(ctx, c.store, key, c.cfg.RenewBefore, time.Now())
}

func (c *cacheOnly) Reject(context.Context, cache.Target, string) error { return errHandOver }

// handOver runs the full program with the same arguments and streams, and exits as it does.
// baton, if not nil, is a lock the full program inherits; env is added to its environment.
func handOver(args []string, stdin io.Reader, stdout, stderr io.Writer, baton *orglock.Lock, env ...string) int {
	path, err := fullProgramPath()
	if err != nil {
		fmt.Fprintf(stderr, "git-credential-azdo: %v\n", err)
		return 1
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	dieWithFront(cmd)
	err = start(cmd, baton)
	if err == nil {
		err = cmd.Wait()
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if code := exit.ExitCode(); code >= 0 {
			return code
		}
		fmt.Fprintf(stderr, "git-credential-azdo: %s ended: %v\n", path, exit) // a signal: no code of its own
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "git-credential-azdo: running %s: %v\n", path, err)
		return 1
	}
	return 0
}

// fullProgramPath finds the full program beside this one, as install.sh puts it, else on PATH.
func fullProgramPath() (string, error) {
	name := FullProgram
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if self, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(self), name)
		if _, err := os.Stat(beside); err == nil {
			return beside, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s is not installed beside git-credential-azdo nor on PATH: reinstall with ./install.sh", FullProgram)
}
