package patmgr

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/signin"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// A browser that cannot be started (here BROWSER names an opener that exits 1) does not strand the
// user: with a terminal the sign-in goes on by device code, saying so; without one the get fails
// with one line. Either way the URL to open by hand was printed first.
func TestBrowserThatFailsFallsBackToDeviceCode(t *testing.T) {
	for _, terminal := range []bool{true, false} {
		name := map[bool]string{true: "terminal", false: "no terminal"}[terminal]
		t.Run(name, func(t *testing.T) {
			e := newEmulated(t, func(c *config.Config) { c.Login, c.Username, c.Password = config.LoginAuto, "", "" })
			var stderr bytes.Buffer
			e.stderr = &stderr
			e.env = signin.Environment{
				Getenv:      func(k string) string { return map[string]string{"BROWSER": "false"}[k] },
				HasTerminal: func() bool { return terminal },
				HasBrowser:  func() bool { return true },
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := e.Credential(ctx, e.target)
			out := stderr.String()
			if !strings.Contains(out, "git-credential-azdo: Opening your browser to sign in. If it does not open, visit: "+e.srv.URL) {
				t.Errorf("stderr %q does not give the URL to open by hand", out)
			}
			if !terminal {
				if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "the browser could not be started") {
					t.Fatalf("get: %v, want one line saying the browser could not be started", err)
				}
				return
			}
			if err != nil || c.Password == "" {
				t.Fatalf("get: %v", err)
			}
			for _, want := range []string{
				"git-credential-azdo: the browser could not be started (exit status 1); signing in with a device code instead\n",
				"The code expires in 15 minutes; Ctrl-C cancels.\n",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("stderr %q lacks %q", out, want)
				}
			}
			if grants := e.srv.Counters().Grants; grants["device_code"] != 1 {
				t.Errorf("grants %v, want one device code", grants)
			}
		})
	}
}

// A browser sign-in nobody finishes ends at --timeout with a line that says so, not with Go's
// "context deadline exceeded". The test runs out the context itself once the helper waits for the
// browser, so however long reaching the browser takes, the timeout strikes the wait.
func TestBrowserSignInTimesOutClearly(t *testing.T) {
	e := newEmulated(t, func(c *config.Config) {
		c.Login, c.Username, c.Password, c.Timeout = config.LoginBrowser, "", "", 5*time.Second
	})
	ctx := &expiring{Context: context.Background(), done: make(chan struct{})}
	stderr := &watchedWriter{see: func(p []byte) {
		if bytes.Contains(p, []byte("waiting up to")) {
			close(ctx.done)
		}
	}}
	e.stderr = stderr
	e.env = signin.Environment{
		Getenv:      func(k string) string { return map[string]string{"BROWSER": "true"}[k] },
		HasTerminal: func() bool { return true },
		HasBrowser:  func() bool { return true },
	}
	_, err := e.Credential(ctx, e.target)
	if err == nil || !strings.Contains(err.Error(), "the browser sign-in timed out after 5s (--timeout)") || strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("get: %v, want one line saying the sign-in timed out", err)
	}
	if out := stderr.String(); !strings.Contains(out, "waiting up to 5s for the sign-in in your browser; Ctrl-C cancels") {
		t.Errorf("stderr %q does not say how long the sign-in stays open", out)
	}
}

// A browser that stays in the foreground (one that was not running yet, a text browser) does not
// hold the sign-in: the get finishes as soon as the user has signed in, while the browser still
// runs. Here the test signs in as the user, following the URL the helper printed, once the browser
// runs; the browser runs until the test lets it go (a read of a FIFO), or for two minutes.
func TestBrowserInTheForegroundDoesNotHoldTheSignIn(t *testing.T) {
	testenv.SkipOnWindows(t, "sh and mkfifo")
	e := newEmulated(t, func(c *config.Config) { c.Login, c.Username, c.Password = config.LoginBrowser, "", "" })
	dir := testenv.TempDir(t)
	hold, gone, exited := filepath.Join(dir, "hold"), filepath.Join(dir, "gone"), filepath.Join(dir, "exited")
	launcher := filepath.Join(dir, "browser")
	if out, err := exec.Command("mkfifo", hold, gone).CombinedOutput(); err != nil {
		t.Fatalf("mkfifo: %v: %s", err, out)
	}
	// The browser's last word goes through gone, which the test reads once it has let the
	// browser go: it is done with the test's directory before that is removed.
	script := fmt.Sprintf("#!/bin/sh\ntimeout 120 cat '%s' >/dev/null\ntouch '%s'\necho >'%s'\n", hold, exited, gone)
	if err := os.WriteFile(launcher, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	e.stderr = &watchedWriter{see: func(p []byte) {
		if _, u, ok := strings.Cut(string(p), "If it does not open, visit: "); ok {
			select {
			case urls <- strings.TrimSpace(u):
			default: // one sign-in is followed; a second notice must not block the helper
			}
		}
	}}
	e.env = signin.Environment{
		Getenv:      func(k string) string { return map[string]string{"BROWSER": launcher}[k] },
		HasTerminal: func() bool { return true },
		HasBrowser:  func() bool { return true },
	}
	signedIn := make(chan error, 1)
	go func() {
		u := <-urls
		// Opened for writing once the browser reads it: the browser runs. Closed at the end of
		// the test, which ends the browser's read.
		f, err := os.OpenFile(hold, os.O_WRONLY, 0)
		if err != nil {
			signedIn <- err
			return
		}
		t.Cleanup(func() {
			f.Close()
			waitForBrowserExit(t, gone)
		})
		// The user: the emulator signs in at once and sends the browser back to the helper.
		signedIn <- azdotest.FollowSignIn(e.srv.Client(), u)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := e.Credential(ctx, e.target)
	if err != nil || c.Password == "" {
		t.Fatalf("get: %v", err)
	}
	if err := <-signedIn; err != nil {
		t.Fatalf("signing in as the user: %v", err)
	}
	if _, err := os.Stat(exited); err == nil {
		t.Fatal("the get returned only once the browser had exited")
	}
}

// waitForBrowserExit reads the browser's last word from the FIFO gone, with a bound only a hang
// reaches.
func waitForBrowserExit(t *testing.T, gone string) {
	read := make(chan error, 1)
	go func() {
		_, err := os.ReadFile(gone)
		read <- err
	}()
	select {
	case err := <-read:
		if err != nil {
			t.Errorf("waiting for the browser to exit: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Error("the browser did not exit once let go")
	}
}

// expiring is a context whose deadline passes when the test closes done.
type expiring struct {
	context.Context
	done chan struct{}
}

func (c *expiring) Done() <-chan struct{} { return c.done }

func (c *expiring) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// watchedWriter keeps what is written to it, showing each write to see first: the helper writes
// its messages a line at a time.
type watchedWriter struct {
	bytes.Buffer
	see func(p []byte)
}

func (w *watchedWriter) Write(p []byte) (int, error) {
	w.see(p)
	return w.Buffer.Write(p)
}
