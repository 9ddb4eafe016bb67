//go:build unix

package keyringtest

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
	dbus "github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

// envMainChild makes TestMain behave like a package using Main, for the
// tests of Main itself (run in a child process).
const envMainChild = "KEYRINGTEST_MAIN_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envMainChild) == "1" {
		Main(m)
		return
	}
	// The other tests start their own sessions to exercise Start and Stop.
	os.Exit(m.Run())
}

func requireTools(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"dbus-daemon", "gnome-keyring-daemon"} {
		testenv.NeedTool(t, bin, "keyringtest starts it")
	}
}

func TestStartGoKeyringStop(t *testing.T) {
	requireTools(t)
	oldHome, hadHome := os.LookupEnv("HOME")

	// t.TempDir paths are long: this also covers the short socket path.
	s, err := Start(testenv.TempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); got != s.busAddress {
		t.Errorf("DBUS_SESSION_BUS_ADDRESS = %q, want %q", got, s.busAddress)
	}
	if !strings.HasPrefix(os.Getenv("HOME"), s.dir) {
		t.Errorf("HOME %q is not inside %q", os.Getenv("HOME"), s.dir)
	}
	if len(s.Env) == 0 || Current() != s {
		t.Errorf("Env %v, Current %p, want session %p", s.Env, Current(), s)
	}
	// The session must be usable by go-keyring right away (no race with
	// the daemon's start-up, collection present and unlocked).
	if err := keyring.Set("keyringtest", "alice", "s3cret"); err != nil {
		t.Fatalf("go-keyring Set right after Start: %v", err)
	}
	if v, err := keyring.Get("keyringtest", "alice"); err != nil || v != "s3cret" {
		t.Fatalf("go-keyring Get = %q, %v", v, err)
	}

	pids := []int{s.bus.Process.Pid, s.keyring.Process.Pid}
	s.Stop()
	s.Stop() // idempotent
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d still alive after Stop", pid)
		}
	}
	if h, ok := os.LookupEnv("HOME"); ok != hadHome || h != oldHome {
		t.Errorf("HOME not restored: %q, want %q", h, oldHome)
	}
	if Current() != nil {
		t.Error("Current() still set after Stop")
	}

	// A second session is independent: fresh HOME, empty keyring; godbus's
	// shared connection notices the old bus is gone and reconnects.
	s2, err := Start(testenv.TempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Stop()
	if _, err := keyring.Get("keyringtest", "alice"); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("second session sees first session's secret: %v", err)
	}
}

func TestLockUnlock(t *testing.T) {
	requireTools(t)
	s, err := Start(testenv.TempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	lockedProp := func() bool {
		conn, err := dbus.Connect(s.busAddress)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		v, err := conn.Object(secretsName, loginCollection).GetProperty("org.freedesktop.Secret.Collection.Locked")
		if err != nil {
			t.Fatal(err)
		}
		return v.Value().(bool)
	}
	if lockedProp() {
		t.Fatal("locked right after Start")
	}
	if err := s.Lock(); err != nil {
		t.Fatal(err)
	}
	if !lockedProp() {
		t.Fatal("not locked after Lock")
	}
	if err := s.Unlock(); err != nil {
		t.Fatal(err)
	}
	if lockedProp() {
		t.Fatal("still locked after Unlock")
	}
}

// runMainChild runs the test name in a child whose TestMain calls Main, with
// PATH emptied so that dbus-daemon and gnome-keyring-daemon are missing.
func runMainChild(t *testing.T, name, ci string) (string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v")
	cmd.Env = append(os.Environ(), envMainChild+"=1", "PATH="+testenv.TempDir(t), "CI="+ci)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestMainMissingToolsOutsideCI(t *testing.T) {
	out, err := runMainChild(t, "TestRequireInChild", "")
	if err != nil {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
	if !strings.Contains(out, "will be skipped") || !strings.Contains(out, "--- SKIP: TestRequireInChild") {
		t.Fatalf("want a notice and a skipped test, got:\n%s", out)
	}
}

func TestMainMissingToolsInCI(t *testing.T) {
	out, err := runMainChild(t, "TestRequireInChild", "true")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("want exit status 1, got %v\n%s", err, out)
	}
	if !strings.Contains(out, "not installed") {
		t.Fatalf("want the reason in the output, got:\n%s", out)
	}
}

// A test that runs dbus-launch, as godbus does when it finds no session bus,
// fails the run, though the test itself passes.
func TestMainRefusesAutolaunch(t *testing.T) {
	out, err := runMainChild(t, "TestAutolaunchInChild", "")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("want exit status 1, got %v\n%s", err, out)
	}
	if !strings.Contains(out, "--- PASS: TestAutolaunchInChild") || !strings.Contains(out, "something ran dbus-launch") {
		t.Fatalf("want a passing test and the run failed for its dbus-launch, got:\n%s", out)
	}
}

func TestAutolaunchInChild(t *testing.T) {
	if os.Getenv(envMainChild) != "1" {
		t.Skip("run by TestMainRefusesAutolaunch")
	}
	if err := exec.Command("dbus-launch").Run(); err == nil {
		t.Fatal("dbus-launch succeeded")
	}
}

// TestRequireInChild only does something in the children above.
func TestRequireInChild(t *testing.T) {
	if os.Getenv(envMainChild) != "1" {
		t.Skip("run by TestMainMissingTools*")
	}
	Require(t)
	t.Fatal("Require did not skip without a Secret Service")
}

// TestKeyringComesBackAfterAnAbort: when gnome-keyring aborts (as it does under many short-lived
// clients), the next client's call starts it again through the bus, unlocked and with the items
// it had.
func TestKeyringComesBackAfterAnAbort(t *testing.T) {
	requireTools(t)
	s, err := Start(testenv.TempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if err := keyring.Set("keyringtest-abort", "user", "kept"); err != nil {
		t.Fatal(err)
	}
	if err := s.keyring.Process.Signal(syscall.SIGABRT); err != nil {
		t.Fatal(err)
	}
	<-s.keyringExited
	// A keyring that came back locked would make go-keyring wait for a prompt forever.
	type result struct {
		value string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		v, err := keyring.Get("keyringtest-abort", "user")
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil || r.value != "kept" {
			t.Fatalf("after the abort: Get = %q, %v; want the item back from a restarted, unlocked keyring", r.value, r.err)
		}
	case <-time.After(time.Minute): // a hang, not a slow machine
		t.Fatal("after the abort: Get did not answer within a minute (keyring back locked?)")
	}
	if err := s.checkReady(); err != nil {
		t.Fatalf("after the abort: %v", err)
	}
}
