// Package keyringtest runs a real, private Secret Service (a D-Bus session bus
// plus gnome-keyring-daemon) for tests, so keyring code is tested against the
// implementation users run rather than a mock, without touching the
// developer's own keyring.
package keyringtest

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dbus "github.com/godbus/dbus/v5"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// envNoSecretService is set to "1" by Main when no Secret Service could be
// provided; keyring tests then skip (see Require). Setting it beforehand
// (outside CI) opts out of starting one.
const envNoSecretService = "AZDO_NO_SECRET_SERVICE"

// envReason carries the reason to skipping tests (possibly in child processes).
const envReason = "AZDO_NO_SECRET_SERVICE_REASON"

// errMissing is returned by Start when dbus-daemon or gnome-keyring-daemon is
// not installed (as opposed to installed but failing).
var errMissing = errors.New("keyringtest: dbus-daemon or gnome-keyring-daemon not installed (Debian: apt-get install dbus gnome-keyring)")

// password unlocks the throwaway login keyring.
const password = "keyringtest-password"

const (
	secretsName     = "org.freedesktop.secrets"
	secretsPath     = dbus.ObjectPath("/org/freedesktop/secrets")
	loginCollection = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
	// startTimeout is how long the daemons may take to start: only a hang, not a slow machine,
	// reaches it, since readiness is signalled, not polled.
	startTimeout = 2 * time.Minute
)

// Session is a running private bus and keyring.
type Session struct {
	// Env lists the KEY=VALUE entries Start set in this process's
	// environment (also handy for child processes' exec.Cmd.Env).
	Env        []string
	dir        string // the throwaway HOME and runtime directory
	busAddress string // the private bus's D-Bus address

	bus, keyring *exec.Cmd
	logs         *bytes.Buffer // both daemons' stderr, for error messages
	saved        map[string]*string
	sockDir      string // set when the socket had to go to a shorter path
	stopOnce     sync.Once
	outer        *Session // the session that was current when this one started

	keyringExited chan struct{} // closed once the keyring's Wait returned, which only it calls
}

// current is the session started by Main (or the latest Start), for Require.
var current struct {
	sync.Mutex
	s *Session
}

// Start launches a private D-Bus session bus and an unlocked gnome-keyring
// (secrets component only) with a throwaway HOME in dir, and points this
// process's environment at them. Call Stop to kill both and restore the
// environment.
func Start(dir string) (*Session, error) {
	if s := nativeSession(dir); s != nil {
		return s, nil
	}
	if err := supported(); err != nil {
		return nil, err
	}
	for _, bin := range []string{"dbus-daemon", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(bin); err != nil {
			return nil, fmt.Errorf("%w: %v", errMissing, err)
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := &Session{dir: dir, logs: &bytes.Buffer{}, saved: map[string]*string{}}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()

	home := filepath.Join(dir, "home")
	run := filepath.Join(dir, "run")
	for _, d := range []string{home, run, filepath.Join(home, ".local", "share"), filepath.Join(home, ".config"), filepath.Join(home, ".cache")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	// A unix socket path must fit in sun_path (108 bytes with the NUL);
	// test temp dirs can be longer.
	sock := filepath.Join(dir, "bus")
	if len(sock) > 100 {
		if s.sockDir, err = os.MkdirTemp("", "kt"); err != nil {
			return nil, err
		}
		sock = filepath.Join(s.sockDir, "bus")
	}

	env := map[string]string{
		"HOME":            home,
		"XDG_RUNTIME_DIR": run,
		"XDG_DATA_HOME":   filepath.Join(home, ".local", "share"),
		"XDG_CONFIG_HOME": filepath.Join(home, ".config"),
		"XDG_CACHE_HOME":  filepath.Join(home, ".cache"),
	}

	conf, err := writeBusConfig(dir, sock)
	if err != nil {
		return nil, err
	}
	s.bus, s.busAddress, err = startBus(conf, mergeEnv(os.Environ(), env), &lockedWriter{w: s.logs})
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, s.logText())
	}
	env["DBUS_SESSION_BUS_ADDRESS"] = s.busAddress

	// --unlock reads the login keyring's password from stdin and creates
	// that keyring, unlocked, if it does not exist yet. --foreground keeps
	// the daemon our child so Stop can kill it.
	s.keyring = exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	s.keyring.Env = mergeEnv(os.Environ(), env)
	s.keyring.Stdin = strings.NewReader(password)
	s.keyring.Stdout = &lockedWriter{w: s.logs}
	s.keyring.Stderr = &lockedWriter{w: s.logs}
	setProcAttr(s.keyring)
	if err := s.keyring.Start(); err != nil {
		return nil, fmt.Errorf("keyringtest: starting gnome-keyring-daemon: %w", err)
	}
	s.keyringExited = make(chan struct{})
	go func() {
		_ = s.keyring.Wait()
		close(s.keyringExited)
	}()
	if err := s.waitReady(); err != nil {
		return nil, err
	}

	for _, k := range sortedKeys(env) {
		if old, had := os.LookupEnv(k); had {
			s.saved[k] = &old
		} else {
			s.saved[k] = nil
		}
		if err := os.Setenv(k, env[k]); err != nil {
			return nil, err
		}
		s.Env = append(s.Env, k+"="+env[k])
	}
	current.Lock()
	s.outer, current.s = current.s, s
	current.Unlock()
	ok = true
	return s, nil
}

// writeBusConfig writes the private bus's configuration: a session bus on sock that, like a
// desktop's, starts gnome-keyring when a client asks for the Secret Service and it is not
// running. gnome-keyring 42 aborts when many short-lived clients come and go at once
// ("gkd_secret_service_get_pkcs11_session: assertion 'client' failed", an upstream bug), and a
// desktop's bus would start it again locked; this one starts it unlocked, on the same keyring
// files, so one abort does not fail every test after it.
func writeBusConfig(dir, sock string) (string, error) {
	services := filepath.Join(dir, "services")
	if err := os.MkdirAll(services, 0o700); err != nil {
		return "", err
	}
	passwordFile := filepath.Join(dir, "password")
	restart := filepath.Join(dir, "start-keyring")
	script := "#!/bin/sh\n" +
		": \"${DBUS_SESSION_BUS_ADDRESS:=$DBUS_STARTER_ADDRESS}\"\nexport DBUS_SESSION_BUS_ADDRESS\n" +
		"exec gnome-keyring-daemon --foreground --unlock --components=secrets < " + shellQuote(passwordFile) + "\n"
	service := "[D-BUS Service]\nName=" + secretsName + "\nExec=" + restart + "\n"
	conf := filepath.Join(dir, "bus.conf")
	config := busConfig(sock, services)
	for _, f := range []struct {
		path, text string
		mode       os.FileMode
	}{
		{passwordFile, password, 0o600},
		{restart, script, 0o700},
		{filepath.Join(services, secretsName+".service"), service, 0o600},
		{conf, config, 0o600},
	} {
		if err := os.WriteFile(f.path, []byte(f.text), f.mode); err != nil {
			return "", err
		}
	}
	return conf, nil
}

// busConfig is a dbus-daemon configuration for a private session bus listening on the unix
// socket sock that anyone may use, starting the services described in serviceDirs on demand (with
// none, nothing can be started: a bus without a Secret Service).
func busConfig(sock string, serviceDirs ...string) string {
	var dirs strings.Builder
	for _, d := range serviceDirs {
		dirs.WriteString("  <servicedir>" + xmlEscape(d) + "</servicedir>\n")
	}
	return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=` + xmlEscape(sock) + `</listen>
` + dirs.String() + `  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`
}

// BareBus starts a private D-Bus session bus with nothing on it and no service to start: no
// Secret Service. It returns the bus's address; the bus stops with t. Without dbus-daemon it
// skips t, or fails it when CI is true.
func BareBus(t testing.TB) string {
	t.Helper()
	testenv.NeedTool(t, "dbus-daemon", "keyringtest's bare bus runs one")
	dir, err := os.MkdirTemp("", "kt-bare") // short: a socket path must fit in 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(busConfig(filepath.Join(dir, "bus"))), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd, addr, err := startBus(conf, os.Environ(), &lockedWriter{w: &logs})
	if cmd != nil {
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	if err != nil {
		logMu.Lock()
		defer logMu.Unlock()
		t.Fatalf("%v: %s", err, logs.String())
	}
	return addr
}

// startBus starts dbus-daemon with the configuration file conf and returns it with the address
// it prints once it listens. The command is returned, to be stopped, also with an error once it
// has started.
func startBus(conf string, env []string, stderr io.Writer) (*exec.Cmd, string, error) {
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	cmd.Env = env
	cmd.Stderr = stderr
	setProcAttr(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("keyringtest: starting dbus-daemon: %w", err)
	}
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case a := <-addr:
		if a != "" {
			return cmd, a, nil
		}
	case <-time.After(startTimeout):
	}
	return cmd, "", errors.New("keyringtest: dbus-daemon printed no address")
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// waitReady waits until the keyring owns org.freedesktop.secrets and its login collection exists
// and is unlocked, so that the first test does not race the daemon's start. It checks once, then
// again at each signal that the name's owner or a collection changed, and gives up when the
// keyring exits.
func (s *Session) waitReady() error {
	conn, err := s.connect()
	if err != nil {
		return fmt.Errorf("keyringtest: connecting to the bus: %w", err)
	}
	defer conn.Close()
	signals := make(chan *dbus.Signal, 16)
	conn.Signal(signals)
	// The match rules are in place before the first check, so no change after it is missed.
	for _, match := range [][]dbus.MatchOption{
		{dbus.WithMatchSender("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, secretsName)},
		{dbus.WithMatchInterface("org.freedesktop.Secret.Service")}, // CollectionCreated, CollectionChanged
	} {
		if err := conn.AddMatchSignal(match...); err != nil {
			return fmt.Errorf("keyringtest: subscribing to the bus's signals: %w", err)
		}
	}
	timeout := time.After(startTimeout)
	for {
		last := s.checkReady()
		if last == nil {
			return nil
		}
		select {
		case <-signals:
		case <-s.keyringExited:
			return fmt.Errorf("keyringtest: gnome-keyring-daemon exited before the Secret Service was ready (%v); daemon output: %s", last, s.logText())
		case <-timeout:
			return fmt.Errorf("keyringtest: Secret Service not ready after %s, a hang: %v; daemon output: %s", startTimeout, last, s.logText())
		}
	}
}

func (s *Session) checkReady() error {
	conn, err := s.connect()
	if err != nil {
		return err
	}
	defer conn.Close()
	var owned bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, secretsName).Store(&owned); err != nil {
		return err
	}
	if !owned {
		return errors.New(secretsName + " has no owner yet")
	}
	locked, err := conn.Object(secretsName, loginCollection).GetProperty("org.freedesktop.Secret.Collection.Locked")
	if err != nil {
		return fmt.Errorf("login collection: %w", err)
	}
	if l, _ := locked.Value().(bool); l {
		return errors.New("login collection is locked")
	}
	return nil
}

// connect opens a private connection to the session's bus (never godbus's
// shared one, which belongs to the code under test).
func (s *Session) connect() (*dbus.Conn, error) {
	return dbus.Connect(s.busAddress)
}

// Lock locks the login collection, as a screen locker or timeout would, for
// tests of locked-keyring behaviour.
func (s *Session) Lock() error {
	conn, err := s.connect()
	if err != nil {
		return err
	}
	defer conn.Close()
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	err = conn.Object(secretsName, secretsPath).Call("org.freedesktop.Secret.Service.Lock", 0,
		[]dbus.ObjectPath{loginCollection}).Store(&locked, &prompt)
	if err != nil {
		return fmt.Errorf("keyringtest: Lock: %w", err)
	}
	if len(locked) != 1 || prompt != "/" {
		return fmt.Errorf("keyringtest: Lock: locked %v, prompt %s", locked, prompt)
	}
	return nil
}

// Unlock unlocks the login collection again without a prompt, through
// gnome-keyring's own (non-standard) master-password method.
func (s *Session) Unlock() error {
	conn, err := s.connect()
	if err != nil {
		return err
	}
	defer conn.Close()
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := conn.Object(secretsName, secretsPath).Call("org.freedesktop.Secret.Service.OpenSession", 0,
		"plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		return fmt.Errorf("keyringtest: Unlock: %w", err)
	}
	secret := struct {
		Session     dbus.ObjectPath
		Parameters  []byte
		Value       []byte
		ContentType string
	}{session, []byte{}, []byte(password), "text/plain"}
	err = conn.Object(secretsName, secretsPath).Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0,
		loginCollection, secret).Err
	if err != nil {
		return fmt.Errorf("keyringtest: Unlock: %w", err)
	}
	return s.checkReady()
}

// Stop kills the keyring and the bus (their whole process groups) and
// restores the environment Start changed. It is safe to call twice.
func (s *Session) Stop() {
	s.stopOnce.Do(func() {
		if s.keyring != nil && s.keyring.Process != nil {
			killGroup(s.keyring)
			<-s.keyringExited
		}
		if s.bus != nil && s.bus.Process != nil {
			killGroup(s.bus)
			_ = s.bus.Wait()
		}
		for k, v := range s.saved {
			if v == nil {
				_ = os.Unsetenv(k)
			} else {
				_ = os.Setenv(k, *v)
			}
		}
		if s.sockDir != "" {
			_ = os.RemoveAll(s.sockDir)
		}
		current.Lock()
		if current.s == s {
			current.s = s.outer // a session started inside another gives it back
		}
		current.Unlock()
	})
}

func (s *Session) logText() string {
	if s.logs == nil {
		return ""
	}
	lw := lockedWriter{w: s.logs}
	return strings.TrimSpace(lw.String())
}

// Main is for TestMain: it starts a session in a temporary directory, runs
// the tests, stops the session and exits. Without dbus-daemon or
// gnome-keyring-daemon it fails when CI is true (CI must not silently skip
// keyring tests) and otherwise prints a notice and runs the tests with
// AZDO_NO_SECRET_SERVICE=1, so that Require skips the keyring tests.
// A session that is installed but fails to start is always an error, and so
// is a dbus-launch run by the tests or their children (godbus runs it when it
// finds no session bus): the bus it starts would outlive them.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main without the exit, for a TestMain with cleanup of its own after the tests (such as
// testscript's, which removes its work directories).
func Run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "keyringtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "keyringtest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	launched, err := refuseAutolaunch(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "keyringtest:", err)
		return 1
	}
	code := runTests(m, dir)
	if launched() {
		fmt.Fprintln(os.Stderr, "keyringtest: something ran dbus-launch to start a session bus; without one the keyring must fail at once")
		return 1
	}
	return code
}

func runTests(m *testing.M, dir string) int {
	if testenv.CI() {
		_ = os.Unsetenv(envNoSecretService)
	} else if os.Getenv(envNoSecretService) == "1" {
		if os.Getenv(envReason) == "" {
			_ = os.Setenv(envReason, envNoSecretService+"=1 was set")
		}
		return m.Run()
	}
	s, err := Start(dir)
	if err != nil {
		if errors.Is(err, errMissing) && !testenv.CI() {
			fmt.Fprintf(os.Stderr, "keyringtest: %v; tests needing a Secret Service will be skipped\n", err)
			_ = os.Setenv(envNoSecretService, "1")
			_ = os.Setenv(envReason, err.Error())
			return m.Run()
		}
		fmt.Fprintf(os.Stderr, "keyringtest: %v\n", err)
		return 1
	}
	defer s.Stop()
	return m.Run()
}

// refuseAutolaunch puts first on PATH a dbus-launch that fails, noting that it ran; the
// function it returns says whether it did.
func refuseAutolaunch(dir string) (ran func() bool, err error) {
	bin := filepath.Join(dir, "bin")
	marker := filepath.Join(dir, "dbus-launch-ran")
	script := "#!/bin/sh\n: > " + shellQuote(marker) + "\necho 'keyringtest: dbus-launch refused' >&2\nexit 1\n"
	if err := os.Mkdir(bin, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(bin, "dbus-launch"), []byte(script), 0o700); err != nil {
		return nil, err
	}
	if err := os.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH")); err != nil {
		return nil, err
	}
	return func() bool { _, err := os.Stat(marker); return err == nil }, nil
}

// Require skips t when no Secret Service session is available, with the
// reason; in CI it fails t instead, because a skipped keyring test there
// would hide a broken setup.
func Require(t testing.TB) {
	t.Helper()
	current.Lock()
	s := current.s
	current.Unlock()
	if s != nil {
		return
	}
	reason := os.Getenv(envReason)
	if reason == "" {
		reason = "no Secret Service session (use keyringtest.Main in TestMain)"
	}
	testenv.Missing(t, "keyringtest: "+reason)
}

// Current returns the session started by Main, or nil.
func Current() *Session {
	current.Lock()
	defer current.Unlock()
	return current.s
}

func mergeEnv(base []string, set map[string]string) []string {
	out := make([]string, 0, len(base)+len(set))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			out = append(out, kv)
		}
	}
	for _, k := range sortedKeys(set) {
		out = append(out, k+"="+set[k])
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// lockedWriter lets both daemons' output goroutines share one buffer.
type lockedWriter struct {
	w *bytes.Buffer
}

var logMu sync.Mutex

func (l *lockedWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	logMu.Lock()
	defer logMu.Unlock()
	return l.w.String()
}
