package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
)

// TestKilledMidwayRecovers ends a get while it signs in (Ctrl-C at the device code prompt),
// while it creates the PAT (SIGTERM; the create is slow) and while it renews it (SIGKILL; the
// update is slow). git's operations leave those signals to their default, so each ends the
// process at once. The locks it held are released by the OS (proved by taking them), the next
// get succeeds, the stored record decodes and at most one PAT is active.
func TestKilledMidwayRecovers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		signal os.Signal
		opts   azdotest.Options
		env    []string
		// prepare readies the world and returns the env of the get to kill.
		prepare func(t *testing.T, w *world) []string
		// busy reports that the get is where it should be killed.
		busy func(c azdotest.Counters) bool
		// recoverEnv is the env of the get after the kill.
		recoverEnv []string
	}{
		{
			name:   "sign-in",
			signal: os.Interrupt,
			opts:   azdotest.Options{}, // no auto-approval: the device code stays pending
			prepare: func(t *testing.T, w *world) []string {
				return []string{"AZDO_LOGIN=device"}
			},
			busy: func(c azdotest.Counters) bool { return c.Requests["devicecode"] > 0 && c.Requests["token"] > 1 },
			// The device code died with the process; sign in with the configured password.
			recoverEnv: nil, // set per world below
		},
		{
			name:   "creation",
			signal: syscall.SIGTERM,
			opts:   azdotest.Options{AutoApprove: true},
			prepare: func(t *testing.T, w *world) []string {
				mustInject(t, w, azdotest.Fault{Endpoint: "pats.create", Kind: azdotest.FaultDelay, Delay: 30 * time.Second})
				return nil
			},
			busy: func(c azdotest.Counters) bool { return c.Requests["pats.create"] > 0 },
		},
		{
			name:   "renewal",
			signal: os.Kill,
			opts:   azdotest.Options{AutoApprove: true},
			env:    []string{"AZDO_LIFETIME=1h"},
			prepare: func(t *testing.T, w *world) []string {
				mustGet(t, w)
				mustInject(t, w, azdotest.Fault{Endpoint: "pats.update", Kind: azdotest.FaultDelay, Delay: 30 * time.Second})
				return []string{"AZDO_RENEW_BEFORE=59m58s", clockSkewEnv + "=2100ms"}
			},
			busy:       func(c azdotest.Counters) bool { return c.Requests["pats.update"] > 0 },
			recoverEnv: []string{"AZDO_RENEW_BEFORE=59m58s"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, tc.opts, tc.env...)
			env := tc.prepare(t, w)
			before := w.activePATs()

			cmd := exec.Command(w.bin, append(w.flags(), "get")...)
			cmd.Env = append(append([]string{}, w.env...), env...)
			cmd.Stdin = bytes.NewReader(w.request())
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The wait for the get to get there ends when it exits (then it never will), and
			// otherwise only at a bound for a hang, as runProcess's.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			exited := make(chan struct{})
			var waitErr error
			go func() {
				waitErr = cmd.Wait()
				cancel()
				close(exited)
			}()
			// stop kills the get, if it still runs, and returns its stderr, complete once it
			// has exited. Whatever ends the test, the get does not outlive it.
			stop := func() string {
				cmd.Process.Kill()
				<-exited
				return stderr.String()
			}
			t.Cleanup(func() { stop() })
			if err := w.srv.WaitFor(ctx, tc.busy); err != nil {
				select {
				case <-exited:
					t.Fatalf("the get exited before it got there: %v\nstderr: %s", waitErr, stderr.String())
				default:
					t.Fatalf("the get never got there: %v\nstderr: %s", err, stop())
				}
			}
			// While it works, it holds the organisation's lock: taking it must fail.
			locks := lockFiles(t, w)
			held := 0
			for _, l := range locks {
				fl := flock.New(l)
				if ok, err := fl.TryLock(); err == nil && ok {
					fl.Unlock()
				} else {
					held++
				}
			}
			if held == 0 {
				t.Fatalf("no lock held while the get works (locks %v)", locks)
			}
			if err := cmd.Process.Signal(tc.signal); err != nil {
				t.Fatal(err)
			}
			select {
			case <-exited:
			case <-time.After(time.Minute): // a hang, not a slow machine
				t.Fatalf("the get still ran a minute after %v\nstderr: %s", tc.signal, stop())
			}
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != tc.signal {
				t.Fatalf("the get did not end by %v: %v\nstderr: %s", tc.signal, waitErr, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("the killed get printed %q", hidePasswords(stdout.String()))
			}
			// The OS released every lock the dead process held, with no one unlocking it.
			for _, l := range lockFiles(t, w) {
				fl := flock.New(l)
				if ok, err := fl.TryLock(); err != nil || !ok {
					t.Fatalf("lock %s still held after its holder was killed (err %v)", l, err)
				}
				fl.Unlock()
			}
			if _, err := w.storedRecord(); err != nil {
				t.Fatalf("stored record unreadable after the kill: %v", err)
			}

			w.srv.ClearFaults()
			renv := tc.recoverEnv
			if tc.name == "sign-in" {
				renv = []string{"AZDO_LOGIN=password", "AZDO_USERNAME=" + w.srv.User, "AZDO_PASSWORD=" + w.srv.Password}
			}
			// A lock the dead process still held would keep this get waiting past the
			// harness's deadline.
			r := w.get(renv...)
			if r.code != 0 || r.password() == "" {
				t.Fatalf("get after the kill: exit %d: %s", r.code, r.stderr)
			}
			rec, err := w.storedRecord()
			if err != nil || rec == nil || rec.Token != r.password() {
				t.Fatalf("after recovery the store does not hold the served PAT (err %v)", err)
			}
			active := w.activePATs()
			if len(active) != 1 {
				t.Fatalf("want one active PAT after recovery, got %+v", active)
			}
			if len(before) == 1 && active[0].AuthorizationID != before[0].AuthorizationID {
				t.Errorf("the PAT was replaced instead of kept or renewed")
			}
			t.Logf("ended by %v during %s with %d lock(s) held", tc.signal, tc.name, held)
		})
	}
}

// lockFiles lists the lock files of the world's helper state.
func lockFiles(t *testing.T, w *world) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(w.home, "state", "locks", "*.lock"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range matches {
		if !strings.Contains(filepath.Base(m), "index") {
			out = append(out, m)
		}
	}
	return out
}
