package cli

// Whole-process benchmarks of git-credential-azdo against git's own credential-store, and a test
// of what the cached path must not do. The benchmarks only run with -bench:
//
//	go test -run '^$' -bench . -benchtime 200x ./cmd/git-credential-azdo/internal/cli/
//
// They time a git-credential-azdo built with 'CGO_ENABLED=0 go build -trimpath' (as install.sh builds
// it; a CGO_ENABLED and GOFLAGS other than -race in the environment apply), never this test binary, which
// may carry the race detector. AZDO_BENCH_BIN=/path/to/git-credential-azdo times that binary
// instead. Each process is timed from fork to exit with its request read from a file on stdin;
// the variants compared run one after the other in every iteration, so machine-load drift hits
// them alike.

import (
	"bufio"
	"bytes"
	"context"
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
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/keyringtest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// built holds the benchmarked binary and the launcher that times it, built once per test process.
var built struct {
	once     sync.Once
	dir      string // holds git-credential-azdo
	launcher string
	err      error
}

// benchBinaries returns the directory of the git-credential-azdo binary to time, and the
// launcher (testdata/bench/launcher) that runs and measures each process.
func benchBinaries(tb testing.TB) (dir, launcher string) {
	tb.Helper()
	built.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			built.err = fmt.Errorf("go is not on PATH to build %s: %w", prog, err)
			return
		}
		tmp, err := os.MkdirTemp("", "azdo-bench-bin-")
		if err != nil {
			built.err = err
			return
		}
		build := func(out, pkg string) error {
			cmd := exec.Command(goTool, "build", "-trimpath", "-o", out, pkg)
			cmd.Env = withoutRaceFlag(os.Environ())
			if os.Getenv("CGO_ENABLED") == "" {
				cmd.Env = append(cmd.Env, "CGO_ENABLED=0") // as install.sh builds it
			}
			if msg, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
			}
			return nil
		}
		built.launcher = filepath.Join(tmp, "launcher")
		if built.err = build(built.launcher, "./testdata/bench/launcher"); built.err != nil {
			return
		}
		if p := os.Getenv("AZDO_BENCH_BIN"); p != "" {
			abs, err := filepath.Abs(p)
			if err == nil && filepath.Base(abs) != prog {
				err = fmt.Errorf("AZDO_BENCH_BIN must name a file called %s (git finds helpers by name), got %s", prog, abs)
			}
			built.dir, built.err = filepath.Dir(abs), err
			return
		}
		built.dir = filepath.Join(tmp, "bin")
		built.err = build(filepath.Join(built.dir, prog), "../..")
	})
	if built.err != nil {
		tb.Fatal(built.err)
	}
	return built.dir, built.launcher
}

// withoutRaceFlag drops -race from GOFLAGS: the benchmark times the binary users run.
func withoutRaceFlag(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOFLAGS="); ok {
			kv = "GOFLAGS=" + strings.Join(slices.DeleteFunc(strings.Fields(v), func(f string) bool {
				return f == "-race" || f == "--race" || f == "-race=true"
			}), " ")
		}
		out = append(out, kv)
	}
	return out
}

// benchWorld is an emulator and helper homes for benchmarks (newWorld needs a *testing.T).
type benchWorld struct {
	tb       testing.TB
	srv      *azdotest.Server
	binDir   string
	bin      string
	launcher string
	git      string
	req      string // path of a file holding the get request for the emulator's repo
	host     string
}

func newBenchWorld(tb testing.TB) *benchWorld {
	tb.Helper()
	testenv.SkipOnWindows(tb, "git (Git for Windows)")
	keyringtest.Require(tb)
	binDir, launcher := benchBinaries(tb)
	git, err := exec.LookPath("git")
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("git is not installed: %v", err)
		}
		tb.Skipf("git is not installed: %v", err)
	}
	srv, err := azdotest.NewServer(azdotest.Options{AutoApprove: true, Dir: testenv.TempDir(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	u, err := url.Parse(srv.RepoURL)
	if err != nil {
		tb.Fatal(err)
	}
	w := &benchWorld{tb: tb, srv: srv, binDir: binDir, bin: filepath.Join(binDir, prog), launcher: launcher, git: git, host: u.Host}
	w.req = filepath.Join(testenv.TempDir(tb), "request")
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

// home is one user's HOME, git config and helper state.
type home struct {
	dir string
	env []string
}

// newHome makes a home whose global git config includes gitconfig (the emulator's, or one
// naming credential-store).
func (w *benchWorld) newHome(gitconfig string, extraEnv ...string) *home {
	w.tb.Helper()
	dir := testenv.TempDir(w.tb)
	global := filepath.Join(dir, ".gitconfig")
	cfg := fmt.Sprintf("[include]\n\tpath = %s\n[user]\n\tname = Bench\n\temail = bench@example.invalid\n", gitconfig)
	if err := os.WriteFile(global, []byte(cfg), 0o600); err != nil {
		w.tb.Fatal(err)
	}
	env := []string{
		"HOME=" + dir,
		"GIT_CONFIG_GLOBAL=" + global,
		"GIT_CONFIG_NOSYSTEM=1",
		"PATH=" + w.binDir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"AZDO_STATE_DIR=" + filepath.Join(dir, "state"),
		"AZDO_LOGIN=device",
		"XDG_CONFIG_HOME=" + filepath.Join(dir, ".config"),
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "DBUS_") || k == "XDG_RUNTIME_DIR" || k == "LANG" {
			env = append(env, kv)
		}
	}
	return &home{dir: dir, env: append(env, extraEnv...)}
}

// proc is one process to time.
type proc struct {
	name     string
	path     string
	args     []string
	env      []string
	stdin    string // file fed on stdin ("" = /dev/null)
	check    func(stdout []byte) error
	launcher string // the measuring launcher; "" = time from this process
	out      *os.File
}

type sample struct {
	wall time.Duration
	rss  int64         // peak resident set, bytes
	cpu  time.Duration // user and system time of the process and the children it waited for (runQuiet only)
}

// run runs p once through the launcher, which times it from fork to exit and reads its peak RSS.
func (p *proc) run(tb testing.TB) sample {
	tb.Helper()
	p.prepare(tb)
	in := os.DevNull
	if p.stdin != "" {
		in = p.stdin
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(p.launcher, append([]string{in, p.out.Name(), p.path}, p.args...)...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s: %v\nstderr: %s", p.name, err, stderr.String())
	}
	var wallNS, rssKB int64
	if _, err := fmt.Sscan(stdout.String(), &wallNS, &rssKB); err != nil {
		tb.Fatalf("%s: launcher said %q: %v", p.name, stdout.String(), err)
	}
	if err := p.checkOutput(); err != nil {
		tb.Fatalf("%s: %v\nstderr: %s", p.name, err, stderr.String())
	}
	return sample{wall: time.Duration(wallNS), rss: rssKB * 1024}
}

// prepare creates p's scratch stdout file once.
func (p *proc) prepare(tb testing.TB) {
	if p.out != nil {
		return
	}
	f, err := os.CreateTemp(testenv.TempDir(tb), "stdout-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	p.out = f
}

func (p *proc) checkOutput() error {
	if p.check == nil {
		return nil
	}
	out, err := os.ReadFile(p.out.Name())
	if err != nil {
		return err
	}
	return p.check(out)
}

// stats summarises the samples of one variant.
type stats struct{ median, p90, peakRSS, medianCPU float64 } // milliseconds, MB

func summarise(s []sample) stats {
	walls := make([]time.Duration, len(s))
	cpus := make([]time.Duration, len(s))
	var peak int64
	for i, x := range s {
		walls[i], cpus[i] = x.wall, x.cpu
		peak = max(peak, x.rss)
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	rank := func(d []time.Duration, q float64) time.Duration { // nearest rank
		i := int(q*float64(len(d))+0.999999) - 1
		return d[max(0, min(i, len(d)-1))]
	}
	return stats{median: ms(rank(walls, 0.5)), p90: ms(rank(walls, 0.9)), peakRSS: float64(peak) / (1 << 20), medianCPU: ms(rank(cpus, 0.5))}
}

// report puts s on b, each metric's name after prefix; peak RSS and CPU only where measured.
func (s stats) report(b *testing.B, prefix string) {
	b.ReportMetric(s.median, prefix+"median-ms")
	b.ReportMetric(s.p90, prefix+"p90-ms")
	if s.peakRSS > 0 {
		b.ReportMetric(s.peakRSS, prefix+"peak-rss-MB")
	}
	if s.medianCPU > 0 {
		b.ReportMetric(s.medianCPU, prefix+"cpu-ms")
	}
}

// compare puts the subject's figures and those of the baseline it is compared with on b.
func compare(b *testing.B, subject, baseline []sample) {
	s, base := summarise(subject), summarise(baseline)
	b.ReportMetric(0, "ns/op") // an op is several processes: the figures below say what it costs
	s.report(b, "")
	base.report(b, "base-")
	b.ReportMetric(s.median/base.median, "x-credential-store")
}

func wantPassword(password string) func([]byte) error {
	return func(out []byte) error {
		if !bytes.Contains(out, []byte("\npassword="+password+"\n")) {
			return fmt.Errorf("output lacks the password: %q", hidePasswords(string(out), password))
		}
		return nil
	}
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

// warm runs one get through the emulator (signing in and minting a PAT if needed) and returns
// the password it printed.
func (w *benchWorld) warm(h *home) string {
	w.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.bin, w.helperArgs("get")...)
	cmd.Env = h.env
	stdin, err := os.Open(w.req)
	if err != nil {
		w.tb.Fatal(err)
	}
	defer stdin.Close()
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		w.tb.Fatalf("warming get: %v\nstderr: %s", err, stderr.String())
	}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "password="); ok && p != "" {
			return p
		}
	}
	w.tb.Fatalf("warming get printed no password; stderr: %s", stderr.String())
	return ""
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

// storeVariants are the stores each benchmark runs with.
var storeVariants = []struct {
	name string
	env  []string
}{
	{"keyring", nil},
	{"file", []string{"AZDO_STORE=file"}},
}

// alternate runs subject and baseline b.N times each, alternating which goes first so that
// neither always follows the other, after one untimed round of each for a warm page cache.
func alternate(b *testing.B, subject, baseline *proc) (s, base []sample) {
	subject.run(b)
	baseline.run(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			s = append(s, subject.run(b))
			base = append(base, baseline.run(b))
		} else {
			base = append(base, baseline.run(b))
			s = append(s, subject.run(b))
		}
	}
	b.StopTimer()
	return s, base
}

// BenchmarkCachedGet compares a get served from a warm cache with git credential-store reading
// the same credential from its file, for each store.
func BenchmarkCachedGet(b *testing.B) {
	w := newBenchWorld(b)
	for _, variant := range storeVariants {
		b.Run(variant.name, func(b *testing.B) {
			h := w.newHome(w.srv.GitConfig, variant.env...)
			password := w.warm(h)
			credFile := w.credentialStoreFile(password)
			azdo := &proc{name: prog + " get (" + variant.name + ")", path: w.bin, args: w.helperArgs("get"),
				env: h.env, stdin: w.req, check: wantPassword(password), launcher: w.launcher}
			credStore := &proc{name: "git credential-store get", path: w.git, args: []string{"credential-store", "--file", credFile, "get"},
				env: h.env, stdin: w.req, check: wantPassword(password), launcher: w.launcher}
			before := w.srv.Counters()
			subject, baseline := alternate(b, azdo, credStore)
			if d := requestsSince(before, w.srv.Counters()); len(d) > 0 {
				b.Fatalf("the cached gets made requests to the emulator: %v", d)
			}
			compare(b, subject, baseline)
		})
	}
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

// dropPAT forgets the stored PAT of the emulator's organisation, keeping the sign-in (MSAL's
// cache) and the index: the state of the cold path "sign-in cached, PAT to mint".
func (w *benchWorld) dropPAT(h *home, storeName string) {
	w.tb.Helper()
	var s store.Store
	if storeName == "file" {
		var err error
		if s, err = store.NewFile(filepath.Join(h.dir, "state", "credentials")); err != nil {
			w.tb.Fatal(err)
		}
	} else {
		s = secretStore()
	}
	key := cache.Key(strings.ToLower(w.host), w.srv.Org, "")
	if _, err := s.Get(context.Background(), key); err != nil {
		w.tb.Fatalf("no stored PAT under %q to drop: %v", key, err)
	}
	if err := s.Delete(context.Background(), key); err != nil {
		w.tb.Fatal(err)
	}
}

// BenchmarkColdGet times a get that has to mint a PAT (the sign-in is cached), alone and as 32
// gets started together, which must make exactly one PAT, for each store; it reports the HTTP
// round trips of one cold get per endpoint ("rt-<endpoint>") and in all ("round-trips"), and for
// scale the time of 32 gets started together on the warm cache (x32-cached-median-ms): the floor
// of the batch, also as a ratio to one cold get (x32-cached-per-cold). The *-cpu-ms figures are
// the CPU time the helper's processes used (not the emulator's, nor gnome-keyring's): divided by
// the machine's cores, a bound on the wall time.
func BenchmarkColdGet(b *testing.B) {
	const parallel = 32
	w := newBenchWorld(b)
	for _, variant := range storeVariants {
		// One home for all the runs of the sub-benchmark (b.Run calls it more than once): its
		// keyring (or file) and its index must stay in step. Made only if the variant runs.
		var h *home
		b.Run(variant.name, func(b *testing.B) {
			if h == nil {
				h = w.newHome(w.srv.GitConfig, variant.env...)
				w.warm(h) // signs in once
			}
			get := &proc{name: prog + " get (cold)", path: w.bin, args: w.helperArgs("get"), env: h.env, stdin: w.req,
				check: func(out []byte) error {
					if !bytes.Contains(out, []byte("\npassword=")) {
						return fmt.Errorf("no password in %d bytes of output", len(out))
					}
					return nil
				}}
			get.prepare(b)
			var single, batch, warmBatch []sample
			var trips map[string]int
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				w.dropPAT(h, variant.name)
				before := w.srv.Counters()
				b.StartTimer()
				r := get.runQuiet()
				if r.err != nil {
					b.Fatal(r.err)
				}
				single = append(single, r.sample)
				b.StopTimer()
				after := w.srv.Counters()
				if after.PATsCreated != before.PATsCreated+1 {
					b.Fatalf("a cold get created %d PATs, want 1", after.PATsCreated-before.PATsCreated)
				}
				d := requestsSince(before, after)
				if trips == nil {
					trips = d
				} else if fmt.Sprint(d) != fmt.Sprint(trips) {
					b.Logf("round trips of cold get %d differ from the first: %v, then %v", i+1, trips, d)
				}

				w.dropPAT(h, variant.name)
				before = w.srv.Counters()
				b.StartTimer()
				batch = append(batch, runTogether(b, get, parallel))
				b.StopTimer()
				if n := w.srv.Counters().PATsCreated - before.PATsCreated; n != 1 {
					b.Fatalf("%d gets started together on an empty cache created %d PATs, want 1", parallel, n)
				}
				// The same on the warm cache: what starting that many processes costs here.
				warmBatch = append(warmBatch, runTogether(b, get, parallel))
				b.StartTimer()
			}
			b.StopTimer()
			one, all, warm := summarise(single), summarise(batch), summarise(warmBatch)
			b.ReportMetric(0, "ns/op")
			one.report(b, "cold-")
			all.report(b, "x32-")
			warm.report(b, "x32-cached-")
			b.ReportMetric(all.median/one.median, "x32-per-cold")
			// The floor of the line above: no batch of cold gets can beat starting its processes.
			b.ReportMetric(warm.median/one.median, "x32-cached-per-cold")
			total := 0
			for ep, n := range trips {
				b.ReportMetric(float64(n), "rt-"+ep)
				total += n
			}
			b.ReportMetric(float64(total), "round-trips")
		})
	}
}

// runTogether starts n copies of p at once and returns the time until the last has exited.
func runTogether(tb testing.TB, p *proc, n int) sample {
	tb.Helper()
	copies := make([]*proc, n)
	for i := range copies {
		c := *p
		c.out = nil
		c.prepare(tb) // outside the timing
		copies[i] = &c
	}
	var wg sync.WaitGroup
	results := make([]quietResult, n)
	gate := make(chan struct{})
	for i, c := range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			results[i] = c.runQuiet()
		}()
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	wall := time.Since(start)
	var cpu time.Duration
	for i, r := range results {
		if r.err != nil {
			tb.Fatalf("get %d of %d started together: %v", i+1, n, r.err)
		}
		cpu += r.cpu
	}
	return sample{wall: wall, cpu: cpu}
}

type quietResult struct {
	sample
	err error
}

// runQuiet runs p timed from this process, without the launcher (whose own start-up would
// compete with p's), and reports failure instead of failing the benchmark, for goroutines.
func (p *proc) runQuiet() quietResult {
	stdin, err := os.Open(p.stdin)
	if err != nil {
		return quietResult{err: err}
	}
	defer stdin.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = p.env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, p.out, &stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err == nil {
		err = p.checkOutput()
	}
	if err != nil {
		return quietResult{err: fmt.Errorf("%s: %w; stderr: %s", p.name, err, stderr.String())}
	}
	return quietResult{sample: sample{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}}
}

// configure writes to file the emulator's CA for git, and the helper line that configure writes
// for the emulator (install.sh runs configure for users).
func (w *benchWorld) configure(h *home, file string) {
	w.tb.Helper()
	ca := fmt.Sprintf("[http %q]\n\tsslCAInfo = %s\n", w.srv.URL+"/", w.srv.CAFile)
	if err := os.WriteFile(file, []byte(ca), 0o600); err != nil {
		w.tb.Fatal(err)
	}
	cmd := exec.Command(w.bin, append(w.helperArgs("configure"), "--file", file)...)
	cmd.Env = h.env
	if out, err := cmd.CombinedOutput(); err != nil {
		w.tb.Fatalf("configure: %v\n%s", err, out)
	}
}

// BenchmarkLsRemote compares git ls-remote against the emulator with the helper (warm cache)
// and with the same PAT in git credential-store.
func BenchmarkLsRemote(b *testing.B) {
	w := newBenchWorld(b)
	helperConfig := filepath.Join(testenv.TempDir(b), "helper.gitconfig")
	withHelper := w.newHome(helperConfig)
	w.configure(withHelper, helperConfig)
	password := w.warm(withHelper)
	credFile := w.credentialStoreFile(password)
	storeConfig := filepath.Join(testenv.TempDir(b), "credential-store.gitconfig")
	cfg := fmt.Sprintf("[http %q]\n\tsslCAInfo = %s\n[credential %q]\n\tuseHttpPath = true\n\thelper =\n\thelper = store --file %s\n",
		w.srv.URL+"/", w.srv.CAFile, w.srv.URL, credFile)
	if err := os.WriteFile(storeConfig, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	withStore := w.newHome(storeConfig)
	lsRemote := func(name string, h *home) *proc {
		return &proc{name: name, path: w.git, args: []string{"ls-remote", w.srv.RepoURL}, env: h.env, launcher: w.launcher,
			check: func(out []byte) error {
				if !bytes.Contains(out, []byte("refs/heads/main")) {
					return fmt.Errorf("no refs/heads/main in %q", out)
				}
				return nil
			}}
	}
	azdo, credStore := lsRemote("git ls-remote with "+prog, withHelper), lsRemote("git ls-remote with credential-store", withStore)
	before := w.srv.Counters()
	subject, baseline := alternate(b, azdo, credStore)
	after := w.srv.Counters()
	if c := after.PATsCreated - before.PATsCreated; c != 0 {
		b.Fatalf("ls-remote with a warm cache created %d PATs", c)
	}
	for _, ep := range []string{"token", "devicecode", "openid-configuration", "org", "pats.create", "pats.update", "pats.list"} {
		if after.Requests[ep] != before.Requests[ep] {
			b.Fatalf("ls-remote with a warm cache called %s", ep)
		}
	}
	compare(b, subject, baseline)
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
			first := runWithStdin(t, w.env, env, req, bin, args...)
			if first.err != nil || !strings.Contains(first.stdout, "\npassword=") {
				t.Fatalf("warming get: %v\nstdout: %q\nstderr: %s", first.err, hidePasswords(first.stdout), first.stderr)
			}
			before := w.srv.Counters()
			r := runWithStdin(t, w.env, append(env, "PATH="+emptyPath), req, bin, args...)
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

func runWithStdin(t *testing.T, base, env []string, stdin, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(append([]string{}, base...), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return result{stdout.String(), stderr.String(), err}
}

// checkWithStrace runs the cached get under strace -f, when strace exists and may trace, and
// checks the system calls that start programs or open connections.
func checkWithStrace(t *testing.T, base, env []string, stdin, bin string, args []string, busAllowed bool) {
	t.Helper()
	strace, err := exec.LookPath("strace")
	if err != nil {
		// .ci/run installs strace: in CI the system calls are always checked.
		if os.Getenv("CI") == "true" {
			t.Fatalf("strace is not installed: %v", err)
		}
		t.Log("strace is not installed: system calls not checked")
		return
	}
	log := filepath.Join(testenv.TempDir(t), "strace.log")
	straceArgs := append([]string{"-f", "-qq", "-e", "trace=execve,execveat,fork,vfork,connect", "-o", log, bin}, args...)
	r := runWithStdin(t, base, env, stdin, strace, straceArgs...)
	if r.err != nil {
		if strings.Contains(r.stderr, "Operation not permitted") || strings.Contains(r.stderr, "ptrace") {
			if os.Getenv("CI") == "true" {
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
