package cli

// Benchmarks of what users feel, each against git's own credential-store, and a test of what the
// cached path must not do. .ci/run runs the benchmarks after the tests:
//
//	go test -run '^$' -bench . -benchtime 20x ./cmd/git-credential-azdo/internal/cli/
//
// They time the binary users install (goInstalled), never the tests' own build of it. The two sides of a comparison take turns in every iteration, so that a change
// in the machine's load hits both alike; the ratio of their medians is the figure that matters.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/keyringtest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// benchWorld is an emulator, the installed binary and the get request for the emulator's
// repository (newWorld needs a *testing.T).
type benchWorld struct {
	tb     testing.TB
	srv    *azdotest.Server
	binDir string
	bin    string
	req    string // path of a file holding the request
	key    string // the store key of the emulator's organisation
}

func newBenchWorld(tb testing.TB) *benchWorld {
	testenv.SkipOnWindows(tb, "git (Git for Windows)")
	tb.Helper()
	keyringtest.Require(tb)
	binDir := goInstalled(tb)
	srv, err := azdotest.NewServer(azdotest.Options{AutoApprove: true, Dir: testenv.TempDir(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	u, err := url.Parse(srv.RepoURL)
	if err != nil {
		tb.Fatal(err)
	}
	purge := func() {
		if err := purgeKeyring(srv); err != nil {
			tb.Fatal(err)
		}
	}
	purge()
	tb.Cleanup(purge)
	key := recordKey(srv)
	w := &benchWorld{tb: tb, srv: srv, binDir: binDir, bin: filepath.Join(binDir, prog), req: filepath.Join(testenv.TempDir(tb), "request"), key: key}
	request := fmt.Sprintf("protocol=https\nhost=%s\npath=%s\n\n", u.Host, strings.TrimPrefix(u.Path, "/"))
	if err := os.WriteFile(w.req, []byte(request), 0o600); err != nil {
		tb.Fatal(err)
	}
	return w
}

// helperArgs are the settings the emulator's git config puts on the helper line.
func (w *benchWorld) helperArgs(op string) []string {
	return []string{"--service-url=" + w.srv.URL, "--authority=" + w.srv.URL, "--ca-file=" + w.srv.CAFile, op}
}

// newHome returns the environment of a new user whose global git config includes gitconfig
// (homeEnv's, with the installed binary first on PATH), and extraEnv.
func (w *benchWorld) newHome(gitconfig string, extraEnv ...string) []string {
	w.tb.Helper()
	env, err := homeEnv(testenv.TempDir(w.tb), gitconfig, w.binDir, os.Getenv("PATH"))
	if err != nil {
		w.tb.Fatal(err)
	}
	return append(env, extraEnv...)
}

// proc is one command to time.
type proc struct {
	env   []string
	stdin string // file fed on stdin ("" = none)
	want  string // what its stdout must contain
	name  string
	args  []string
}

// run runs p and returns its time from start to exit.
func (p proc) run() (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.name, p.args...)
	cmd.Env = p.env
	if p.stdin != "" {
		f, err := os.Open(p.stdin)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err == nil && !strings.Contains(stdout.String(), p.want) {
		err = fmt.Errorf("its output lacks %q", hidePasswords(p.want))
	}
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w\nstdout: %s\nstderr: %s", filepath.Base(p.name), strings.Join(p.args, " "), err, hidePasswords(stdout.String()), stderr.String())
	}
	return took, nil
}

// compare runs helper and baseline b.N times each, taking turns at going first, after one
// untimed run of each, and reports their medians and the ratio of those.
func compare(b *testing.B, helper, baseline proc) {
	var times [2][]time.Duration
	sides := [2]proc{helper, baseline}
	for i := -1; i < b.N; i++ {
		if i == 0 {
			b.ResetTimer()
		}
		for j := range 2 {
			side := (i + j) & 1 // i even: the helper first
			d, err := sides[side].run()
			if err != nil {
				b.Fatal(err)
			}
			if i >= 0 {
				times[side] = append(times[side], d)
			}
		}
	}
	b.StopTimer()
	h, base := medianMS(times[0]), medianMS(times[1])
	b.ReportMetric(h, "helper-ms")
	b.ReportMetric(base, "store-ms")
	b.ReportMetric(h/base, "ratio")
}

func medianMS(d []time.Duration) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	return float64(s[len(s)/2]) / float64(time.Millisecond)
}

// warm runs one get (signing in and minting a PAT if needed) and returns the password it printed.
func (w *benchWorld) warm(env []string) string {
	w.tb.Helper()
	req, err := os.ReadFile(w.req)
	if err != nil {
		w.tb.Fatal(err)
	}
	r := runProcess(env, "", string(req), w.bin, w.helperArgs("get")...)
	if r.err != nil {
		w.tb.Fatalf("warming get: %v\nstderr: %s", r.err, r.stderr)
	}
	p := r.password()
	if p == "" {
		w.tb.Fatalf("warming get printed no password; stderr: %s", r.stderr)
	}
	return p
}

// credentialStoreFile writes a git-credentials file holding password for the emulator's repo.
func (w *benchWorld) credentialStoreFile(password string) string {
	w.tb.Helper()
	u, err := url.Parse(w.srv.RepoURL)
	if err != nil {
		w.tb.Fatal(err)
	}
	u.User = url.UserPassword(w.srv.Org, password)
	path := filepath.Join(testenv.TempDir(w.tb), ".git-credentials")
	if err := os.WriteFile(path, []byte(u.String()+"\n"), 0o600); err != nil {
		w.tb.Fatal(err)
	}
	return path
}

// BenchmarkLsRemote compares git ls-remote against the emulator with the helper line configure
// writes (cache warm, Secret Service) and with the same PAT in git's credential-store.
func BenchmarkLsRemote(b *testing.B) {
	w := newBenchWorld(b)
	helperConfig := filepath.Join(testenv.TempDir(b), "helper.gitconfig")
	ca := fmt.Sprintf("[http %q]\n\tsslCAInfo = %s\n", w.srv.URL+"/", w.srv.CAFile)
	if err := os.WriteFile(helperConfig, []byte(ca), 0o600); err != nil {
		b.Fatal(err)
	}
	withHelper := w.newHome(helperConfig)
	configure := exec.Command(w.bin, append(w.helperArgs("configure"), "--file", helperConfig)...)
	configure.Env = withHelper
	if out, err := configure.CombinedOutput(); err != nil {
		b.Fatalf("configure: %v\n%s", err, out)
	}
	credFile := w.credentialStoreFile(w.warm(withHelper))
	storeConfig := filepath.Join(testenv.TempDir(b), "credential-store.gitconfig")
	cfg := ca + fmt.Sprintf("[credential %q]\n\tuseHttpPath = true\n\thelper =\n\thelper = store --file %s\n", w.srv.URL, credFile)
	if err := os.WriteFile(storeConfig, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	lsRemote := func(env []string) proc {
		return proc{env: env, want: "refs/heads/main", name: "git", args: []string{"ls-remote", w.srv.RepoURL}}
	}
	before := w.srv.Counters()
	compare(b, lsRemote(withHelper), lsRemote(w.newHome(storeConfig)))
	if d := requestsSince(before, w.srv.Counters()); d["pats.create"]+d["token"]+d["devicecode"] > 0 {
		b.Fatalf("ls-remote with a warm cache signed in or made a PAT: %v", d)
	}
}

// BenchmarkCachedGet compares a get served from a warm cache with git credential-store get
// reading the same credential from its file, for each store.
func BenchmarkCachedGet(b *testing.B) {
	w := newBenchWorld(b)
	for _, variant := range []struct{ name, store string }{{"keyring", "keyring"}, {"file", "file"}} {
		b.Run(variant.name, func(b *testing.B) {
			env := w.newHome(w.srv.GitConfig, "AZDO_STORE="+variant.store)
			password := w.warm(env)
			want := "\npassword=" + password + "\n"
			credStore := []string{"credential-store", "--file", w.credentialStoreFile(password), "get"}
			before := w.srv.Counters()
			compare(b, proc{env, w.req, want, w.bin, w.helperArgs("get")}, proc{env, w.req, want, "git", credStore})
			if d := requestsSince(before, w.srv.Counters()); len(d) > 0 {
				b.Fatalf("the cached gets made requests to the emulator: %v", d)
			}
		})
	}
}

// BenchmarkStartUp compares the helper's store, which has nothing to do (git runs it after every
// get that worked), with git credential-store get: what starting this program costs, under
// every comparison above.
func BenchmarkStartUp(b *testing.B) {
	w := newBenchWorld(b)
	env := w.newHome(w.srv.GitConfig)
	credStore := []string{"credential-store", "--file", w.credentialStoreFile("unused"), "get"}
	compare(b, proc{env, w.req, "", w.bin, w.helperArgs("store")}, proc{env, w.req, "\npassword=unused\n", "git", credStore})
}

// BenchmarkParallelGets starts 32 gets together on an empty cache (signed in, no PAT: a new
// organisation, or a PAT gone) and checks they make exactly one PAT: one takes the
// organisation's lock and makes it, the others wait and serve it. It reports the time until the
// last get has answered.
func BenchmarkParallelGets(b *testing.B) {
	const n = 32
	w := newBenchWorld(b)
	env := w.newHome(w.srv.GitConfig)
	w.warm(env)
	get := proc{env: env, stdin: w.req, want: "\npassword=", name: w.bin, args: w.helperArgs("get")}
	var times []time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := secretStore().Delete(ctx, w.key)
		cancel()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			b.Fatal(err)
		}
		before := w.srv.Counters()
		errs := make([]error, n)
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-gate
				_, errs[i] = get.run()
			})
		}
		b.StartTimer()
		start := time.Now()
		close(gate)
		wg.Wait()
		times = append(times, time.Since(start))
		b.StopTimer()
		if err := errors.Join(errs...); err != nil {
			b.Fatal(err)
		}
		if pats := w.srv.Counters().PATsCreated - before.PATsCreated; pats != 1 {
			b.Fatalf("%d gets started together on an empty cache made %d PATs, want 1", n, pats)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(medianMS(times), "x32-ms")
}

// requestsSince returns the per-endpoint request counts that grew from before to after.
func requestsSince(before, after azdotest.Counters) map[string]int {
	d := map[string]int{}
	for ep, n := range after.Requests {
		if n != before.Requests[ep] {
			d[ep] = n - before.Requests[ep]
		}
	}
	return d
}

// hidePasswords masks the value of every password= line of a helper's output, and the known
// secrets wherever else they stand (a trace line), for messages.
func hidePasswords(out string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			out = strings.ReplaceAll(out, s, "[secret]")
		}
	}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "password=") {
			lines[i] = "password=[hidden]"
		}
	}
	return strings.Join(lines, "\n")
}

// TestCachedGetIsLocal checks what a cached get must not do: start a process or talk to the
// network. It runs the helper with an empty PATH (no git, no shell to start) and checks that
// the emulator saw no request; when strace is installed and may trace, it also checks that the
// process executed nothing and connected to nothing but the session bus.
func TestCachedGetIsLocal(t *testing.T) {
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	bin := filepath.Join(helperBinary(t), prog)
	u, err := url.Parse(w.srv.RepoURL)
	if err != nil {
		t.Fatal(err)
	}
	req := fmt.Sprintf("protocol=https\nhost=%s\npath=%s\n\n", u.Host, strings.TrimPrefix(u.Path, "/"))
	args := []string{"--service-url=" + w.srv.URL, "--authority=" + w.srv.URL, "--ca-file=" + w.srv.CAFile, "get"}
	emptyPath := testenv.TempDir(t)
	for _, storeName := range []string{"keyring", "file"} {
		t.Run(storeName, func(t *testing.T) {
			env := []string{"AZDO_STORE=" + storeName, "AZDO_STATE_DIR=" + filepath.Join(testenv.TempDir(t), "state")}
			first := runProcess(slices.Concat(w.env, env), "", req, bin, args...)
			if first.err != nil || !strings.Contains(first.stdout, "\npassword=") {
				t.Fatalf("warming get: %v\nstdout: %q\nstderr: %s", first.err, hidePasswords(first.stdout), first.stderr)
			}
			before := w.srv.Counters()
			r := runProcess(slices.Concat(w.env, env, []string{"PATH=" + emptyPath}), "", req, bin, args...)
			if r.err != nil || r.stdout != first.stdout {
				t.Fatalf("cached get with an empty PATH: %v\nstdout: %q (want %q)\nstderr: %s", r.err, hidePasswords(r.stdout), hidePasswords(first.stdout), r.stderr)
			}
			if d := requestsSince(before, w.srv.Counters()); len(d) > 0 {
				t.Fatalf("the cached get made requests: %v", d)
			}
			checkWithStrace(t, w.env, append(env, "PATH="+emptyPath), req, bin, args, storeName == "keyring")
		})
	}
}

// checkWithStrace runs the cached get under strace -f, when strace exists and may trace, and
// checks the system calls that start programs or open connections.
func checkWithStrace(t *testing.T, base, env []string, stdin, bin string, args []string, busAllowed bool) {
	t.Helper()
	strace, err := exec.LookPath("strace")
	if err != nil {
		// .ci/run installs strace: in CI the system calls are always checked.
		if testenv.CI() {
			t.Fatalf("strace is not installed: %v", err)
		}
		t.Log("strace is not installed: system calls not checked")
		return
	}
	log := filepath.Join(testenv.TempDir(t), "strace.log")
	straceArgs := append([]string{"-f", "-qq", "-e", "trace=execve,execveat,fork,vfork,connect", "-o", log, bin}, args...)
	r := runProcess(slices.Concat(base, env), "", stdin, strace, straceArgs...)
	if r.err != nil {
		if strings.Contains(r.stderr, "Operation not permitted") || strings.Contains(r.stderr, "ptrace") {
			if testenv.CI() {
				t.Fatalf("strace may not trace in CI (%v)", strings.TrimSpace(r.stderr))
			}
			t.Logf("strace may not trace here (%v): system calls not checked", strings.TrimSpace(r.stderr))
			return
		}
		t.Fatalf("cached get under strace: %v\nstderr: %s", r.err, r.stderr)
	}
	if !strings.Contains(r.stdout, "\npassword=") {
		t.Fatalf("cached get under strace printed no password: stderr %s", r.stderr)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	bus := busSocket(base, env)
	execs, conns := 0, 0
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.Contains(line, "execve(") || strings.Contains(line, "execveat("):
			execs++
		case strings.Contains(line, "fork("):
			t.Errorf("the cached get forked: %s", line)
		case strings.Contains(line, "connect("):
			conns++
			if !busAllowed || bus == "" || !strings.Contains(line, "AF_UNIX") || !strings.Contains(line, `"`+bus+`"`) {
				t.Errorf("the cached get connected to something other than the session bus %q: %s", bus, line)
			}
		}
	}
	if execs != 1 {
		t.Errorf("the cached get executed %d programs, want only itself:\n%s", execs, data)
	}
	t.Logf("strace: %d execve (itself), %d connect (session bus only)", execs, conns)
}

// busSocket returns the path of the session bus socket from DBUS_SESSION_BUS_ADDRESS, if it
// names one.
func busSocket(envs ...[]string) string {
	addr := ""
	for _, env := range envs {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "DBUS_SESSION_BUS_ADDRESS="); ok {
				addr = v
			}
		}
	}
	for _, part := range strings.Split(strings.TrimPrefix(addr, "unix:"), ",") {
		if p, ok := strings.CutPrefix(part, "path="); ok {
			if u, err := url.PathUnescape(p); err == nil {
				return u
			}
			return p
		}
	}
	return ""
}
