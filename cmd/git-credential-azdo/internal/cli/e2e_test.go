package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/keyringtest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// TestMain runs the tests in a private Secret Service, with this test binary doubling as the
// user's browser: pkg/browser opens the sign-in page with xdg-open, which testscript puts first
// on PATH.
func TestMain(m *testing.M) {
	os.Exit(testscript.RunMain(withSecretService{m}, map[string]func() int{"xdg-open": fakeBrowser}))
}

// clockSkewEnv moves the clock of the program the tests run ahead by a duration: a PAT's renewal
// window is stepped into instead of waited for (see testdata/testclock.go).
const clockSkewEnv = "AZDO_TEST_CLOCK_SKEW"

// withSecretService runs the tests inside a private, unlocked gnome-keyring.
type withSecretService struct{ m *testing.M }

// outerEnv is the environment before keyringtest gave the tests a private HOME: where Go's
// caches are (see installEnv).
var outerEnv []string

func (w withSecretService) Run() int {
	outerEnv = os.Environ()
	if runtime.GOOS == "windows" {
		// Wine's file API cannot remove testscript's work directory (see testenv), so the
		// Windows run exits here and leaves it.
		keyringtest.Main(w.m)
	}
	var err error
	if buildDir, err = os.MkdirTemp("", "azdo-builds-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(buildDir)
	return keyringtest.Run(w.m)
}

// buildDir holds the programs the tests build, and goes when they end.
var buildDir string

// program is git-credential-azdo as the end-to-end tests run it, built once per test binary:
// the program users build, plus the clock hook in testdata/testclock.go. It runs without the
// race detector, which would make each of its hundreds of runs several times slower; the
// packages it is made of run their own tests under -race, and TestMainInProcess runs Main here.
var program = sync.OnceValues(func() (string, error) {
	dir := filepath.Join(buildDir, "program")
	return dir, buildProgram(dir)
})

// helperBinary returns the directory holding the program the end-to-end tests run.
func helperBinary(tb testing.TB) string {
	tb.Helper()
	return built(tb, program)
}

// built returns the directory of a build the tests share, which build makes on its first call.
func built(tb testing.TB, build func() (string, error)) string {
	testenv.SkipOnWindows(tb, "a Go toolchain, to build the program")
	tb.Helper()
	dir, err := build()
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

// buildProgram builds the program into dir with testdata/testclock.go added to this package
// (go build -overlay), so that no file of the package holds the hook.
func buildProgram(dir string) error {
	pkg, err := os.Getwd() // go test runs tests in their package's directory
	if err != nil {
		return err
	}
	overlay := filepath.Join(buildDir, "overlay.json")
	add := map[string]string{filepath.Join(pkg, "testclock.go"): filepath.Join(pkg, "testdata", "testclock.go")}
	b, err := json.Marshal(map[string]any{"Replace": add})
	if err == nil {
		err = os.WriteFile(overlay, b, 0o600)
	}
	if err != nil {
		return err
	}
	return goBuild(nil, "build", "-overlay", overlay, "-o", filepath.Join(dir, prog), "./cmd/git-credential-azdo")
}

// goBuild runs the go command on the module with install.sh's settings (CGO_ENABLED=0,
// -trimpath), under which every build of the tests and install.sh's share their compiled
// packages, and with Go's caches (outerEnv: the tests' private HOME has none).
func goBuild(env []string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = filepath.Join("..", "..", "..", "..")
	cmd.Env = slices.Concat(outerEnv, []string{"CGO_ENABLED=0", "GOFLAGS=-trimpath"}, env)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// world is one emulator plus a user's home, git config and helper state, isolated from the
// developer's own.
type world struct {
	t    *testing.T
	srv  *azdotest.Server
	home string
	env  []string
	bin  string // the program
}

func newWorld(t *testing.T, opts azdotest.Options, extraEnv ...string) *world {
	t.Helper()
	testenv.SkipOnWindows(t, "git (Git for Windows)")
	keyringtest.Require(t)
	bin := helperBinary(t)
	if opts.Dir == "" {
		opts.Dir = testenv.TempDir(t)
	}
	srv, err := azdotest.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	home := testenv.TempDir(t)
	env, err := homeEnv(home, srv.GitConfig, bin, os.Getenv("PATH"))
	if err != nil {
		t.Fatal(err)
	}
	// The browser, this race-built test binary, would otherwise wait a second at exit.
	env = append(env, "GORACE=atexit_sleep_ms=0")
	w := &world{t: t, srv: srv, home: home, env: append(env, extraEnv...), bin: filepath.Join(bin, prog)}
	w.purgeKeyring()
	t.Cleanup(w.purgeKeyring)
	return w
}

// homeEnv gives a user a home of their own: a global git config that includes include (the
// emulator's, or one a benchmark wrote), the helper's state under it, the device sign-in (which
// the emulator may approve) and the program in bin first on path. It returns the user's
// environment, with the test run's session bus.
func homeEnv(home, include, bin, path string) ([]string, error) {
	global := filepath.Join(home, ".gitconfig")
	cfg := fmt.Sprintf("[include]\n\tpath = %s\n[user]\n\tname = Test\n\temail = test@example.invalid\n[init]\n\tdefaultBranch = main\n", include)
	if err := os.WriteFile(global, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	env := []string{
		"HOME=" + home,
		"GIT_CONFIG_GLOBAL=" + global,
		"GIT_CONFIG_NOSYSTEM=1",
		"PATH=" + bin + string(os.PathListSeparator) + path,
		"AZDO_STATE_DIR=" + filepath.Join(home, "state"),
		"AZDO_LOGIN=device",
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "DBUS_") || k == "XDG_RUNTIME_DIR" {
			env = append(env, kv)
		}
	}
	return env, nil
}

// run runs a command in the world, in dir. prog names the world's program.
func (w *world) run(dir string, env []string, name string, args ...string) result {
	w.t.Helper()
	if name == prog {
		name = w.bin
	}
	return runProcess(slices.Concat(w.env, env), dir, "", name, args...)
}

func (w *world) git(dir string, args ...string) result {
	w.t.Helper()
	return w.run(dir, nil, "git", args...)
}

func (w *world) mustGit(dir string, args ...string) string {
	w.t.Helper()
	r := w.git(dir, args...)
	if r.err != nil {
		w.t.Fatalf("git %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.err, r.stdout, r.stderr)
	}
	return r.stdout
}

func (w *world) clone() string {
	w.t.Helper()
	dir := filepath.Join(testenv.TempDir(w.t), "clone")
	w.mustGit("", "clone", "-q", w.srv.RepoURL, dir)
	return dir
}

func (w *world) activePATs() []azdotest.PATInfo {
	var out []azdotest.PATInfo
	for _, p := range w.srv.PATs() {
		if p.Status == "active" {
			out = append(out, p)
		}
	}
	return out
}

func TestCloneThenPushOnEmptyCache(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	dir := w.clone()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.mustGit(dir, "add", "hello.txt")
	w.mustGit(dir, "commit", "-qm", "hello")
	w.mustGit(dir, "push", "-q", "origin", "HEAD:main")

	c := w.srv.Counters()
	if c.Grants["device_code"] != 1 || c.PATsCreated != 1 {
		t.Fatalf("want one device-code sign-in and one PAT, got grants %v, %d PATs created", c.Grants, c.PATsCreated)
	}
	pats := w.activePATs()
	if len(pats) != 1 || pats[0].Scope != "vso.code_write" || !strings.HasPrefix(pats[0].DisplayName, "git-credential-azdo on ") {
		t.Fatalf("want one vso.code_write PAT named by this tool, got %+v", pats)
	}
	// The pushed commit is on the server: a fresh clone sees it.
	again := w.clone()
	if _, err := os.Stat(filepath.Join(again, "hello.txt")); err != nil {
		t.Fatalf("pushed file missing from a new clone: %v", err)
	}
}

func TestSecondCloneMakesNoSignInAndNoAPICall(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	w.clone()
	before := w.srv.Counters()
	w.clone()
	after := w.srv.Counters()
	for _, ep := range []string{"token", "devicecode", "openid-configuration", "org", "pats.create", "pats.update", "pats.list", "pats.get"} {
		if after.Requests[ep] != before.Requests[ep] {
			t.Errorf("second clone made %d request(s) to %s", after.Requests[ep]-before.Requests[ep], ep)
		}
	}
	if after.Requests["git"] <= before.Requests["git"] {
		t.Fatalf("second clone did not reach git at all: counters %v", after.Requests)
	}
}

func TestRenewalExtendsTheSamePAT(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true}, "AZDO_LIFETIME=1h")
	w.clone()
	first := w.activePATs()
	if len(first) != 1 {
		t.Fatalf("want one PAT, got %+v", first)
	}
	// With a renewal window just under the lifetime, the PAT is due two seconds after creation.
	w.env = append(w.env, "AZDO_RENEW_BEFORE=59m58s", clockSkewEnv+"=2100ms")
	w.clone()
	c := w.srv.Counters()
	after := w.activePATs()
	if c.PATsRenewed != 1 || c.PATsCreated != 1 || len(after) != 1 || after[0].AuthorizationID != first[0].AuthorizationID {
		t.Fatalf("want the same PAT renewed once, got renewed=%d created=%d active=%+v", c.PATsRenewed, c.PATsCreated, after)
	}
	if !after[0].ValidTo.After(first[0].ValidTo) {
		t.Fatalf("validTo did not move: %s then %s", first[0].ValidTo, after[0].ValidTo)
	}
	if c.Grants["device_code"] != 1 {
		t.Fatalf("renewal prompted: grants %v", c.Grants)
	}
}

func TestRevokedPATIsReplacedWithoutPrompt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	dir := w.clone()
	old := w.activePATs()[0]
	oldSecret := w.fill(w.srv.RepoURL)
	if err := w.srv.RevokePAT(old.AuthorizationID); err != nil {
		t.Fatal(err)
	}
	// git sends the revoked PAT, gets 401, runs erase and fails this once.
	if r := w.git(dir, "fetch", "-q"); r.err == nil {
		t.Fatalf("fetch with a revoked PAT succeeded")
	}
	w.mustGit(dir, "fetch", "-q")
	c := w.srv.Counters()
	pats := w.activePATs()
	if c.PATsCreated != 2 || len(pats) != 1 || pats[0].AuthorizationID == old.AuthorizationID {
		t.Fatalf("want exactly one new PAT after the revocation, got created=%d active=%+v", c.PATsCreated, pats)
	}
	if c.Grants["device_code"] != 1 {
		t.Fatalf("replacement prompted: grants %v", c.Grants)
	}

	// A stale erase of the old PAT (another git process that started before the replacement)
	// must not drop the new one.
	stale := fmt.Sprintf("url=%s\nusername=contoso\npassword=%s\n\n", w.srv.RepoURL, oldSecret)
	if r := runProcess(w.env, "", stale, "git", "credential", "reject"); r.err != nil {
		t.Fatalf("git credential reject: %v\n%s", r.err, r.stderr)
	}
	w.mustGit(dir, "fetch", "-q")
	if c := w.srv.Counters(); c.PATsCreated != 2 {
		t.Fatalf("a stale erase dropped the new PAT: %d PATs created", c.PATsCreated)
	}
}

// fill asks git for the credential of url, as git itself would before a request.
func (w *world) fill(rawURL string) string {
	w.t.Helper()
	r := runProcess(w.env, "", "url="+rawURL+"\n\n", "git", "credential", "fill")
	if r.err != nil {
		w.t.Fatalf("git credential fill: %v\n%s", r.err, r.stderr)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if p, ok := strings.CutPrefix(line, "password="); ok {
			return p
		}
	}
	w.t.Fatalf("git credential fill gave no password: %q", r.stdout)
	return ""
}

func TestExpiredPATIsReplaced(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	// The organisation caps PATs at an hour; the helper keeps the clamped validTo it is given.
	if err := w.srv.SetPolicy(w.srv.Org, azdotest.Policy{MaxLifespan: time.Hour}); err != nil {
		t.Fatal(err)
	}
	dir := w.clone()
	// The service sees the PAT expire before this machine's clock does (skew, or early expiry).
	w.srv.Advance(2 * time.Hour)
	if r := w.git(dir, "fetch", "-q"); r.err == nil {
		t.Fatalf("fetch with an expired PAT succeeded")
	}
	w.mustGit(dir, "fetch", "-q")
	if c := w.srv.Counters(); c.PATsCreated != 2 {
		t.Fatalf("want a second PAT after expiry, got %d", c.PATsCreated)
	}
}

func TestPolicyForbiddingPATsFallsBackToEntraToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	if err := w.srv.SetPolicy(w.srv.Org, azdotest.Policy{DisablePATCreation: true}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(testenv.TempDir(t), "clone")
	r := w.git("", "clone", "-q", w.srv.RepoURL, dir)
	if r.err != nil {
		t.Fatalf("clone under a no-PAT policy: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stderr, "disablePatCreationPolicyViolation") || strings.Count(r.stderr, "Entra ID") != 1 {
		t.Fatalf("want one line explaining the fallback, got stderr %q", r.stderr)
	}
	if w.srv.Counters().PATsCreated != 0 {
		t.Fatalf("a PAT was created despite the policy")
	}
	// Later operations use the fallback quietly.
	r = w.git(dir, "fetch", "-q")
	if r.err != nil || strings.Contains(r.stderr, "Entra ID") {
		t.Fatalf("second fetch: err=%v stderr=%q", r.err, r.stderr)
	}
}

// A get that cannot interact fails at once rather than waiting for a sign-in: a wait would run
// into the deadline of w.run, which comes before the 5-minute --timeout, and git would be killed
// without the helper's message.
func TestNoInteractionPossibleFailsFast(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{})
	for name, env := range map[string][]string{
		"GIT_TERMINAL_PROMPT=0":          {"GIT_TERMINAL_PROMPT=0", "AZDO_LOGIN=auto"},
		"no browser, no terminal (auto)": {"AZDO_LOGIN=auto", "DISPLAY=", "WAYLAND_DISPLAY="},
		"credential.interactive=never":   {"AZDO_LOGIN=device", "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=credential.interactive", "GIT_CONFIG_VALUE_0=never"},
	} {
		t.Run(name, func(t *testing.T) {
			r := w.run("", append(env, "GIT_TERMINAL_PROMPT=0", "AZDO_TIMEOUT=5m"), "git", "ls-remote", w.srv.RepoURL)
			if r.err == nil {
				t.Fatalf("ls-remote succeeded without a sign-in")
			}
			if !strings.Contains(r.stderr, "git-credential-azdo login") {
				t.Fatalf("want the sign-in command named, got %q", r.stderr)
			}
			if c := w.srv.Counters(); c.Requests["devicecode"] != 0 || c.PATsCreated != 0 {
				t.Fatalf("a sign-in was attempted: %v", c.Requests)
			}
		})
	}
}

func TestFileStoreWorksEndToEnd(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true}, "AZDO_STORE=file")
	w.clone()
	w.clone()
	if c := w.srv.Counters(); c.PATsCreated != 1 || c.Grants["device_code"] != 1 {
		t.Fatalf("file store: want one sign-in and one PAT, got %v, %d", c.Grants, c.PATsCreated)
	}
	st, err := os.Stat(filepath.Join(w.home, "state", "credentials"))
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials mode %v, want 0600", st.Mode().Perm())
	}
}

// fakeBrowser follows the authorize URL the way a browser would, as the emulator's auto-approved
// user, and submits the form_post page back to MSAL's loopback listener.
func fakeBrowser() int {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "fake xdg-open: want one URL")
		return 2
	}
	// The default client trusts the emulator's CA through SSL_CERT_FILE.
	if err := azdotest.FollowSignIn(http.DefaultClient, os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "fake xdg-open:", err)
		return 1
	}
	return 0
}

func TestBrowserSignIn(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	w.env = append(w.env, "AZDO_LOGIN=auto", "DISPLAY=:0", "SSL_CERT_FILE="+w.srv.CAFile)
	r := w.git("", "ls-remote", w.srv.RepoURL)
	if r.err != nil {
		t.Fatalf("ls-remote with a browser sign-in: %v\n%s", r.err, r.stderr)
	}
	c := w.srv.Counters()
	if c.Grants["authorization_code"] != 1 || c.Requests["devicecode"] != 0 || c.PATsCreated != 1 {
		t.Fatalf("want one auth-code sign-in and one PAT, got grants %v requests %v", c.Grants, c.Requests)
	}
	for _, want := range []string{"Opening your browser to sign in. If it does not open, visit: " + w.srv.URL + "/", "for the sign-in in your browser; Ctrl-C cancels"} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("stderr lacks %q: %q", want, r.stderr)
		}
	}
}

func TestPasswordSignInWhenConfigured(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{})
	w.env = append(w.env, "AZDO_LOGIN=password", "AZDO_USERNAME="+w.srv.User, "AZDO_PASSWORD="+w.srv.Password)
	w.clone()
	if c := w.srv.Counters(); c.Grants["password"] != 1 || c.PATsCreated != 1 {
		t.Fatalf("want one password sign-in and one PAT, got %v, %d", c.Grants, c.PATsCreated)
	}
}

var userCodeRE = regexp.MustCompile(`enter the code ([A-Z0-9]+)`)

// watchedWriter keeps what is written to it and, after each write, shows all it holds to see,
// one call at a time; see must not block: it runs in the writer's goroutine (os/exec's copy of
// a child's output).
type watchedWriter struct {
	mu  sync.Mutex
	buf strings.Builder
	see func(seen string)
}

func (w *watchedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	w.see(w.buf.String())
	return len(p), nil
}

func (w *watchedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestAccountInURLPicksTheAccount signs a second user in for the same organisation: the
// user@domain in the remote URL selects the account, and each keeps its own PAT.
func TestAccountInURLPicksTheAccount(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{})
	const bob = "bob@contoso.example"
	if err := w.srv.AddUser(bob, "bob-password", w.srv.TenantID, w.srv.Org); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(w.srv.RepoURL)
	u.User = url.User(bob)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "ls-remote", u.String())
	// The helper git started may outlive it: WaitDelay bounds Wait, which copies stderr (a
	// reader of the pipe that the test ran itself would not be bounded by it).
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = w.env
	codes := make(chan string, 1)
	sent := false
	stderr := &watchedWriter{see: func(seen string) {
		if m := userCodeRE.FindStringSubmatch(seen); m != nil && !sent {
			codes <- m[1]
			sent = true
		}
	}}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	// Whatever ends the test, git and the copy of its stderr end with it.
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	select {
	case code := <-codes:
		if err := w.srv.ApproveDeviceCode(code, bob); err != nil {
			t.Fatal(err)
		}
	case <-exited:
		t.Fatalf("no device code on stderr: %v\n%s", waitErr, stderr.String())
	}
	<-exited
	if waitErr != nil {
		t.Fatalf("ls-remote as %s: %v\n%s", bob, waitErr, stderr.String())
	}
	pats := w.activePATs()
	if len(pats) != 1 || pats[0].User != bob {
		t.Fatalf("want one PAT of %s, got %+v", bob, pats)
	}
	// The same URL again is served from bob's cached record, without a sign-in.
	before := w.srv.Counters()
	if r := w.run("", []string{"GIT_TERMINAL_PROMPT=0"}, "git", "ls-remote", u.String()); r.err != nil {
		t.Fatalf("second ls-remote as %s: %v\n%s", bob, r.err, r.stderr)
	}
	if after := w.srv.Counters(); after.Requests["token"] != before.Requests["token"] || after.PATsCreated != before.PATsCreated {
		t.Fatalf("second ls-remote signed in or minted again")
	}
}

// A command typed by a person acts on git's helper line: given only the service URL, status
// finds the emulator's authority and CA there and sees that renewal will be silent.
func TestCommandsReadTheHelperLine(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	w.clone()
	// What is typed beats the environment: with the env's file store, status would find nothing.
	r := w.run("", []string{"AZDO_STORE=file"}, prog, "status", "--json", "--service-url="+w.srv.URL, "--store=keyring")
	if r.err != nil {
		t.Fatalf("status: %v\n%s", r.err, r.stderr)
	}
	var st []struct {
		Org           string `json:"org"`
		State         string `json:"state"`
		SilentRenewal bool   `json:"silentRenewal"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	if len(st) != 1 || st[0].Org != w.srv.Org || st[0].State != "valid" || !st[0].SilentRenewal {
		t.Fatalf("status = %+v", st)
	}
}

// login ahead of time leaves exactly the PAT git's first clone then uses.
func TestLoginThenCloneUsesTheSamePAT(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	r := w.run("", nil, prog, "login", w.srv.Org, "--device", "--service-url="+w.srv.URL)
	if r.err != nil {
		t.Fatalf("login: %v\n%s", r.err, r.stderr)
	}
	if !strings.Contains(r.stdout, "Signed in as "+w.srv.User) {
		t.Fatalf("login said %q", r.stdout)
	}
	w.env = append(w.env, "GIT_TERMINAL_PROMPT=0")
	w.clone()
	if c := w.srv.Counters(); c.PATsCreated != 1 || c.Grants["device_code"] != 1 {
		t.Fatalf("login then clone: want 1 sign-in and 1 PAT, got %v and %d", c.Grants, c.PATsCreated)
	}
}

// orgs signs in to the multi-tenant endpoint, after which MSAL keeps the person once more, for
// that tenant. That must not make the cache look like two people: orgs again, and a get for an
// organisation not seen before, still sign in silently.
func TestOrgsKeepsTheSignInSilent(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	if err := w.srv.AddOrg("fabrikam", w.srv.TenantID); err != nil {
		t.Fatal(err)
	}
	if err := w.srv.AddUser(w.srv.User, w.srv.Password, w.srv.TenantID, "fabrikam"); err != nil {
		t.Fatal(err)
	}
	w.clone()
	for i := 1; i <= 2; i++ {
		if r := w.azdo(nil, []string{"GIT_TERMINAL_PROMPT=0"}, "orgs"); r.err != nil || !strings.Contains(r.stdout, "fabrikam") {
			t.Fatalf("orgs, run %d: %v\n%s%s", i, r.err, r.stdout, r.stderr)
		}
	}
	req := []byte("protocol=https\nhost=" + w.host() + "\npath=fabrikam/p/_git/r\n\n")
	if r := w.azdo(req, []string{"GIT_TERMINAL_PROMPT=0"}, "get"); r.err != nil || r.password() == "" {
		t.Fatalf("get for a second organisation after orgs: %v\n%s", r.err, r.stderr)
	}
	if c := w.srv.Counters(); c.Grants["device_code"] != 1 {
		t.Fatalf("want the one sign-in of the clone, got grants %v", c.Grants)
	}
}

// A caller may keep stdin open until it has the answer (git closes it at once, a person typing a
// request does not): a get that signs in and mints must still answer and end.
func TestGetEndsWithStdinOpen(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	// A get that waited for the end of stdin would run into this deadline and be killed.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.bin, append(w.flags(), "get")...)
	cmd.Env = w.env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := stdin.Write(w.request()); err != nil { // an empty cache
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("the get did not end while its stdin stayed open; stderr: %s", stderr.String())
	}
	if err != nil || !strings.Contains(stdout.String(), "\npassword=") {
		t.Fatalf("get: %v, %d bytes of answer\n%s", err, stdout.Len(), stderr.String())
	}
}

// --trace shows what a get does, also one served from the cache, and never the PAT.
func TestTraceShowsACachedGet(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	first := w.get()
	if first.err != nil || first.password() == "" {
		t.Fatalf("first get: %v\n%s", first.err, first.stderr)
	}
	r := w.get("AZDO_TRACE=1")
	if r.err != nil || r.password() != first.password() {
		t.Fatalf("traced get: %v\n%s", r.err, hidePasswords(r.stderr, first.password()))
	}
	if !strings.Contains(r.stderr, "serving the stored PAT") || strings.Contains(r.stderr, first.password()) {
		t.Fatalf("traced cached get's stderr: %q; want the trace, without the PAT", hidePasswords(r.stderr, first.password()))
	}
}
