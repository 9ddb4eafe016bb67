package cli

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// installed is git-credential-azdo as `go install ./cmd/git-credential-azdo` builds it with
// install.sh's settings, built once per test binary: TestGoInstall checks it, TestInstallScript
// reinstalls it, the benchmarks time it.
var installed = sync.OnceValues(func() (string, error) {
	gobin := filepath.Join(buildDir, "gobin")
	return gobin, goBuild([]string{"GOBIN=" + gobin}, "install", "./cmd/git-credential-azdo")
})

// goInstalled returns the GOBIN holding the installed git-credential-azdo, and nothing else.
func goInstalled(tb testing.TB) string {
	tb.Helper()
	return built(tb, installed)
}

// installEnv is the world's environment with binDir on PATH in place of the tests' program, so
// that only what install.sh installed can answer as git-credential-azdo, and with Go's caches
// kept (the private HOME would otherwise make install.sh build from a cold cache).
func installEnv(t *testing.T, w *world, binDir string) []string {
	t.Helper()
	env := append([]string{}, w.env...)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GO") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	goEnv := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH")
	goEnv.Env = outerEnv
	out, err := goEnv.Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	vals := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(vals) != 3 {
		t.Fatalf("go env printed %q", out)
	}
	env = append(env, "GOCACHE="+vals[0], "GOMODCACHE="+vals[1], "GOPATH="+vals[2])
	return append(env, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// runIn runs a command with env and a generous deadline (install.sh builds with go build, which
// is slow on a loaded machine), failing the test on error.
func runIn(t *testing.T, env []string, dir, name string, args ...string) string {
	t.Helper()
	r := runWithin(5*time.Minute, env, dir, "", name, args...)
	if r.err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), r.err, r.stdout, r.stderr)
	}
	return r.stdout
}

func installScript(t *testing.T) string {
	t.Helper()
	testenv.SkipOnWindows(t, "sh: install.sh is for Unix")
	p, err := filepath.Abs(filepath.Join("..", "..", "..", "..", "install.sh"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestInstallScript installs into a temporary bin directory where an earlier install left its
// second program (removed), clones through the installed binary, installs again (nothing
// changes), installs without configuring (no claim that git now signs in), and uninstalls
// (git's config is as before).
func TestInstallScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command with go build")
	}
	gobin := goInstalled(t) // before t.Parallel: install.sh's builds then find every package compiled
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	binDir := filepath.Join(testenv.TempDir(t), "bin")
	env := installEnv(t, w, binDir)
	script := installScript(t)
	gitList := func() string { return runIn(t, env, "", "git", "config", "--global", "--list") }

	before := gitList()
	earlierFull := filepath.Join(binDir, prog+"-full")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(earlierFull, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := runIn(t, env, "", "sh", script, "--bin-dir", binDir)
	installed := filepath.Join(binDir, prog)
	if !strings.Contains(out, "installed "+installed) {
		t.Errorf("install.sh did not say where it installed: %s", out)
	}
	if _, err := os.Stat(earlierFull); !os.IsNotExist(err) || !strings.Contains(out, "removed "+earlierFull) {
		t.Errorf("install.sh left (or did not say it removed) %s, which an earlier install put there (%v): %s", earlierFull, err, out)
	}
	if !strings.Contains(out, "now signs you in") {
		t.Errorf("install.sh did not say what configure set up: %s", out)
	}
	if got := runIn(t, env, "", "git", "config", "--global", "--get-all", "credential.https://dev.azure.com.helper"); got != "\n"+installed+"\n" {
		t.Fatalf("dev.azure.com helpers after install: %q, want \"\" then %q", got, installed)
	}
	if got := runIn(t, env, "", "git", "config", "--global", "--get-urlmatch", "credential.helper", "https://contoso.visualstudio.com/p/_git/r"); got != installed+"\n" {
		t.Fatalf("visualstudio.com helper after install: %q", got)
	}

	// A clone through the installed binary: the emulator's helper line runs
	// `git credential-azdo`, which only the installed binary can answer.
	dir := filepath.Join(testenv.TempDir(t), "clone")
	runIn(t, env, "", "git", "clone", "-q", w.srv.RepoURL, dir)
	if c := w.srv.Counters(); c.PATsCreated != 1 || c.Grants["device_code"] != 1 {
		t.Fatalf("clone through the installed binary: want one sign-in and one PAT, got %v and %d", c.Grants, c.PATsCreated)
	}
	status := runIn(t, append(env, "AZDO_SERVICE_URL="+w.srv.URL, "AZDO_AUTHORITY="+w.srv.URL, "AZDO_CA_FILE="+w.srv.CAFile), "", installed, "status")
	if !strings.Contains(status, "contoso") || !strings.Contains(status, "valid") {
		t.Fatalf("installed binary's status after the clone:\n%s", status)
	}

	// Idempotent: a second run changes nothing in git's config.
	afterFirst := gitList()
	runIn(t, env, "", "sh", script, "--bin-dir", binDir)
	if again := gitList(); again != afterFirst {
		t.Fatalf("second install changed git's config:\nfirst:\n%s\nsecond:\n%s", afterFirst, again)
	}
	out = runIn(t, env, "", "sh", script, "--no-configure", "--bin-dir", binDir)
	if strings.Contains(out, "signs you in") || !strings.Contains(out, "run '"+installed+" configure'") {
		t.Errorf("install.sh --no-configure must say git does not use it yet, and how to change that: %s", out)
	}

	out = runIn(t, env, "", "sh", script, "--uninstall", "--bin-dir", binDir)
	if _, err := os.Stat(installed); !os.IsNotExist(err) {
		t.Fatalf("uninstall left %s (%v): %s", installed, err, out)
	}
	if after := gitList(); after != before {
		t.Fatalf("git config after uninstall differs from before install:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// The PAT the clone made is still valid, and the command that revokes it is gone: say so.
	if !strings.Contains(out, "the PATs for contoso stay cached and valid") {
		t.Errorf("uninstall did not name the organisation whose PAT stays valid: %s", out)
	}

	// Where status cannot tell which PATs stay valid, uninstall says that instead of nothing.
	copyFile(t, filepath.Join(gobin, prog), installed)
	if err := os.WriteFile(filepath.Join(w.home, "state", "index.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = runIn(t, env, "", "sh", script, "--uninstall", "--bin-dir", binDir)
	if !strings.Contains(out, "could not list the PATs it made") {
		t.Errorf("uninstall with a status that fails: %s", out)
	}
	out = runIn(t, env, "", "sh", script, "--uninstall", "--bin-dir", binDir)
	if !strings.Contains(out, "nothing installed") {
		t.Errorf("second uninstall: %s", out)
	}
}

// TestGoInstall installs the command as a Go user does, `go install` into an empty GOBIN, and
// runs version, --help and a clone through it: the one binary is the whole tool.
func TestGoInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command with go install")
	}
	t.Parallel()
	gobin := goInstalled(t)
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	env := installEnv(t, w, gobin)
	entries, err := os.ReadDir(gobin)
	if err != nil || len(entries) != 1 || entries[0].Name() != prog {
		t.Fatalf("go install put %v in GOBIN (%v), want %s alone", entries, err, prog)
	}
	installed := filepath.Join(gobin, prog)

	if got := runIn(t, env, "", installed, "version"); !strings.HasPrefix(got, prog+" ") {
		t.Errorf("version printed %q", got)
	}
	if got := runIn(t, env, "", installed, "--help"); !strings.Contains(got, "usage: "+prog) || !strings.Contains(got, "configure") {
		t.Errorf("--help printed %q", got)
	}
	// The emulator's helper line runs `git credential-azdo`, which only GOBIN's binary answers.
	runIn(t, env, "", "git", "clone", "-q", w.srv.RepoURL, filepath.Join(testenv.TempDir(t), "clone"))
	if c := w.srv.Counters(); c.PATsCreated != 1 || c.Grants["device_code"] != 1 {
		t.Fatalf("clone through the installed binary: want one sign-in and one PAT, got %v and %d", c.Grants, c.PATsCreated)
	}
}

// copyFile copies the executable from to to.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err == nil {
		_, err = io.Copy(out, in)
		err = errors.Join(err, out.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestInstallScriptDemo runs install.sh --demo: build, then a clone and a push through the
// installed helper against a freshly built emulator, in a throwaway home.
func TestInstallScriptDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and the emulator with go build")
	}
	t.Parallel()
	w := newWorld(t, azdotest.Options{})
	binDir := filepath.Join(testenv.TempDir(t), "bin")
	env := installEnv(t, w, binDir)
	out := runIn(t, env, "", "sh", installScript(t), "--demo", "--bin-dir", binDir)
	for _, want := range []string{"pushed a commit", "contoso", "demo done"} {
		if !strings.Contains(out, want) {
			t.Errorf("install.sh --demo output lacks %q:\n%s", want, out)
		}
	}
}

// install.sh --uninstall reads status --json to say what stays valid once the command that
// revokes it is gone: the organisations whose PAT may still work (not expired, missing, or an
// Entra fallback), else that the sign-in stays, else nothing; and that it could not tell, when
// status fails. The status is the real JSON of the Status type, printed by a stand-in program.
func TestUninstallSaysWhatStaysValid(t *testing.T) {
	record := func(org, kind, state string) patmgr.Status {
		return patmgr.Status{Org: org, Host: "dev.azure.com", Account: "alice@contoso.example", Kind: kind, State: state,
			Scope: "vso.code", ValidTo: time.Now(), ExpiresIn: "in 5 days", Store: `file /tmp/a "b"/credentials`, SilentRenewal: true}
	}
	for _, tc := range []struct {
		name   string
		status []patmgr.Status // nil: status fails
		want   string
	}{
		{"some PATs still work", []patmgr.Status{
			record("valid", "pat", "valid"), record("due", "pat", "renewal-due"), record("rejected", "pat", "rejected"),
			record("expired", "pat", "expired"), record("missing", "pat", "missing"), record("fallback", "entra", "valid"),
		}, "the PATs for due rejected valid stay cached and valid"},
		{"none does", []patmgr.Status{record("expired", "pat", "expired"), record("fallback", "entra", "valid")},
			"your sign-in stays cached"},
		{"nothing cached", []patmgr.Status{}, ""},
		{"status fails", nil, "could not list the PATs it made"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := testenv.TempDir(t)
			var status bytes.Buffer
			if tc.status != nil {
				if err := writeJSON(&status, tc.status); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, "status.json"), status.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			standIn := "#!/bin/sh\ncase $1 in\nstatus) [ -s \"$(dirname \"$0\")/status.json\" ] && cat \"$(dirname \"$0\")/status.json\" ;;\nunconfigure) echo 'Nothing to remove.' ;;\nesac\n"
			if err := os.WriteFile(filepath.Join(dir, prog), []byte(standIn), 0o700); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("sh", installScript(t), "--uninstall", "--bin-dir", dir).CombinedOutput()
			if err != nil {
				t.Fatalf("uninstall: %v\n%s", err, out)
			}
			said := strings.TrimSpace(strings.TrimPrefix(string(out), "Nothing to remove.\ninstall.sh: removed "+filepath.Join(dir, prog)))
			if tc.want == "" && said != "" || !strings.Contains(said, tc.want) {
				t.Fatalf("uninstall said %q, want %q", said, tc.want)
			}
		})
	}
}
