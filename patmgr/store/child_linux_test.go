package store

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dbus "github.com/godbus/dbus/v5"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/keyringtest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// These tests run in a child process: they point the D-Bus environment
// somewhere else, and godbus caches one session-bus connection per process
// (a hung connect attempt even keeps its lock forever), so doing it in the
// main test process would break every later keyring test.

func TestKeyringTimeout(t *testing.T) { runChild(t, "TestChildTimeout") }

// TestChildTimeout: a "bus" that accepts connections and never says a word,
// like a wedged keyring. Every call must give up after the timeout.
func TestChildTimeout(t *testing.T) {
	childOnly(t)
	sock := filepath.Join(shortTemp(t), "bus")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = bufio.NewReader(c).WriteTo(devNull{}) }() // read, never answer
		}
	}()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+sock)
	const timeout = 500 * time.Millisecond
	k := NewKeyring("azdo-timeout", timeout)
	ops := map[string]func() error{
		"Get":    func() error { _, err := k.Get(context.Background(), "k"); return err },
		"Set":    func() error { return k.Set(context.Background(), "k", []byte("v")) },
		"Delete": func() error { return k.Delete(context.Background(), "k") },
	}
	for _, name := range []string{"Get", "Set", "Delete"} {
		start := time.Now()
		err := ops[name]()
		took := time.Since(start)
		if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "did not answer within 500ms during "+name) ||
			!strings.Contains(err.Error(), "--store=file") {
			t.Errorf("%s = %v, want ErrTimeout", name, err)
		}
		if took < timeout {
			t.Errorf("%s returned after %v, before the timeout %v", name, took, timeout)
		}
	}
	// The caller's context still wins when it is shorter.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := k.Get(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get with a short ctx = %v, want context.DeadlineExceeded", err)
	}
}

type devNull struct{}

func (devNull) Write(p []byte) (int, error) { return len(p), nil }

func TestKeyringBusWithoutSecretService(t *testing.T) {
	requireBin(t, "dbus-daemon")
	runChild(t, "TestChildBusWithoutSecretService")
}

// TestChildBusWithoutSecretService: a session bus with nothing providing
// org.freedesktop.secrets (and no service files to activate one).
func TestChildBusWithoutSecretService(t *testing.T) {
	childOnly(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", keyringtest.BareBus(t))

	k := NewKeyring("azdo-unavailable", 5*time.Second)
	_, getErr := k.Get(context.Background(), "k")
	for name, err := range map[string]error{
		"Get":    getErr,
		"Set":    k.Set(context.Background(), "k", []byte("v")),
		"Delete": k.Delete(context.Background(), "k"),
	} {
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "--store=file") {
			t.Errorf("%s = %v, want ErrUnavailable", name, err)
		}
	}
	t.Logf("Get: %v", getErr)
}

func TestKeyringNoBus(t *testing.T) {
	runChild(t, "TestChildNoBus", "DBUS_SESSION_BUS_ADDRESS=")
}

// TestChildNoBus: no address, no socket in the runtime directories. The
// store must answer ErrUnavailable and must not run dbus-launch, which a
// fake dbus-launch alone on PATH would notice.
func TestChildNoBus(t *testing.T) {
	childOnly(t)
	dir := testenv.TempDir(t)
	bin := filepath.Join(dir, "bin")
	marker := filepath.Join(dir, "dbus-launch-ran")
	if err := os.Mkdir(bin, 0o700); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\n: > '" + marker + "'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "dbus-launch"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	os.Unsetenv("DBUS_SESSION_BUS_ADDRESS")
	t.Setenv("XDG_RUNTIME_DIR", dir)
	runUserDir = dir

	k := NewKeyring("azdo-nobus", 5*time.Second)
	_, getErr := k.Get(context.Background(), "k")
	for name, err := range map[string]error{
		"Get":    getErr,
		"Set":    k.Set(context.Background(), "k", []byte("v")),
		"Delete": k.Delete(context.Background(), "k"),
	} {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s = %v, want ErrUnavailable", name, err)
		}
	}
	t.Logf("Get: %v", getErr)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("dbus-launch was run")
	}
	// The fake is effective: godbus left alone does run it.
	_, _ = dbus.SessionBusPrivate()
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("control: godbus did not run the fake dbus-launch (%v); the check above proves nothing", err)
	}
}
