package cli

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/keyringtest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// silentBus is a unix socket that accepts connections and never answers: a keyring daemon that
// hangs (as a locked collection with no prompter, or a wedged daemon, does).
func silentBus(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "azdo-bus")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "bus")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c) }() // read everything, answer nothing
		}
	}()
	return "unix:path=" + path
}

// noPlaintext checks the helper did not quietly fall back to a file of secrets.
func noPlaintext(t *testing.T, w *world) {
	t.Helper()
	filepath.Walk(w.home, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && (strings.Contains(fi.Name(), "credentials") || strings.HasSuffix(fi.Name(), ".json") && strings.Contains(p, "store")) {
			t.Errorf("a secrets file appeared: %s", p)
		}
		return nil
	})
}

// keyringFailure checks a get that cannot use the keyring: one clear line naming the fix, no
// credential, no plaintext fallback, and no PAT made that could not be kept. It ends by its own
// bound (the message names it) well inside the harness's deadline, which a hang would hit.
func keyringFailure(t *testing.T, w *world, before azdotest.Counters, r result, mention ...string) {
	t.Helper()
	if r.code == 0 || r.password() != "" {
		t.Fatalf("get succeeded without a keyring: exit %d, stdout %q", r.code, hidePasswords(r.stdout))
	}
	if lines := r.errorLines(); len(lines) != 1 {
		t.Fatalf("want one line, got %q", r.stderr)
	}
	for _, m := range mention {
		if !strings.Contains(r.stderr, m) {
			t.Errorf("message does not mention %q: %s", m, r.stderr)
		}
	}
	if after := w.srv.Counters(); after.PATsCreated-after.PATsRevoked != before.PATsCreated-before.PATsRevoked {
		t.Errorf("a PAT was left active that no store holds: %+v", after)
	}
	noPlaintext(t, w)
	t.Logf("%s", strings.TrimSpace(r.stderr))
}

// hangOnly is the keyring timeout of a get that must fail at once for another reason than time:
// a loaded machine must not turn its error into a timeout.
const hangOnly = "AZDO_KEYRING_TIMEOUT=90s" // inside runProcess's deadline, which a hang of the helper itself would hit

// TestKeyringFaults runs get against keyrings that hang or do not exist.
func TestKeyringFaults(t *testing.T) {
	t.Parallel()
	t.Run("never answers", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, azdotest.Options{AutoApprove: true})
		before := w.srv.Counters()
		r := w.get("DBUS_SESSION_BUS_ADDRESS="+silentBus(t), "AZDO_KEYRING_TIMEOUT=1s")
		keyringFailure(t, w, before, r, "did not answer within 1s", "--store=file")
	})
	t.Run("no socket", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, azdotest.Options{AutoApprove: true})
		before := w.srv.Counters()
		r := w.get("DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(testenv.TempDir(t), "nobus"), hangOnly)
		keyringFailure(t, w, before, r, "Secret Service", "--store=file")
	})
	t.Run("no bus at all", func(t *testing.T) {
		t.Parallel()
		if _, err := os.Stat("/run/user/" + strconv.Itoa(os.Getuid()) + "/bus"); err == nil {
			testenv.Missing(t, "a machine without a session bus at /run/user/UID/bus, which the helper would find")
		}
		w := newWorld(t, azdotest.Options{AutoApprove: true})
		before := w.srv.Counters()
		r := w.get("DBUS_SESSION_BUS_ADDRESS=", "XDG_RUNTIME_DIR="+testenv.TempDir(t), "DISPLAY=", hangOnly)
		keyringFailure(t, w, before, r, "Secret Service", "--store=file")
	})
	t.Run("bus without a Secret Service", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, azdotest.Options{AutoApprove: true})
		bus := keyringtest.BareBus(t)
		before := w.srv.Counters()
		r := w.get("DBUS_SESSION_BUS_ADDRESS="+bus, hangOnly)
		keyringFailure(t, w, before, r, "Secret Service", "--store=file")
	})
}

// TestLockedKeyring locks a keyring of its own: gnome-keyring, once asked for an unlock prompt it
// cannot show, may stay unresponsive, and the run's shared keyring must survive this test. It is
// sequential (parallel tests start after those), since the session is the process's for a while.
func TestLockedKeyring(t *testing.T) {
	keyringtest.Require(t)
	s, err := keyringtest.Start(testenv.TempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop) // after the world's own clean-up, which still uses this session
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	mustGet(t, w) // a PAT in the keyring: the next get only reads it
	if err := s.Lock(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Unlock(); err != nil {
			t.Logf("unlocking the private keyring again (it is thrown away anyway): %v", err)
		}
	})
	before := w.srv.Counters()
	r := w.get("AZDO_KEYRING_TIMEOUT=1s")
	keyringFailure(t, w, before, r, "--store=file")
	if !strings.Contains(r.stderr, "locked") && !strings.Contains(r.stderr, "did not answer") {
		t.Errorf("the message says neither locked nor timed out: %s", r.stderr)
	}
}
