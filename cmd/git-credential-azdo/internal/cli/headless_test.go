package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// readmeRecipes returns the sh blocks of README.md's "Servers and containers" section, in order:
// the tests run what a reader copies, so the two cannot drift apart.
func readmeRecipes(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Servers and containers\n")
	if !ok {
		t.Fatal("README.md has no section \"Servers and containers\"")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		blocks = append(blocks, strings.TrimSpace(m[1]))
	}
	if len(blocks) != 3 {
		t.Fatalf("README.md's Servers and containers has %d sh blocks, want 3 (configure, AZDO_STORE, Secret Service)", len(blocks))
	}
	return blocks
}

// statusOf runs status --json in the world and returns its one organisation.
func statusOf(t *testing.T, w *world, env ...string) map[string]any {
	t.Helper()
	r := w.run("", env, prog, "status", "--json")
	if r.err != nil {
		t.Fatalf("status: %v\n%s", r.err, r.stderr)
	}
	return oneStatus(t, r.stdout)
}

func oneStatus(t *testing.T, out string) map[string]any {
	t.Helper()
	var all []map[string]any
	if err := json.Unmarshal([]byte(out), &all); err != nil || len(all) != 1 {
		t.Fatalf("status --json = %q (%v), want one organisation", out, err)
	}
	return all[0]
}

func TestReadmeFileStoreByConfigure(t *testing.T) {
	t.Parallel()
	testenv.SkipOnWindows(t, "sh, to run README's commands for Linux servers")
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	// git trusts the emulator's CA, but no helper line is set for it: the README's configure
	// line writes the only one, for the service AZDO_SERVICE_URL names.
	gitconfig := filepath.Join(w.home, "plain.gitconfig")
	cfg := "[http \"" + w.srv.URL + "/\"]\n\tsslCAInfo = " + w.srv.CAFile + "\n"
	if err := os.WriteFile(gitconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"GIT_CONFIG_GLOBAL=" + gitconfig, "AZDO_SERVICE_URL=" + w.srv.URL, "AZDO_AUTHORITY=" + w.srv.URL, "AZDO_CA_FILE=" + w.srv.CAFile}
	recipe := readmeRecipes(t)[0]
	if r := w.run("", env, "sh", "-c", recipe); r.err != nil {
		t.Fatalf("%s: %v\n%s", recipe, r.err, r.stderr)
	}
	line := w.run("", env, "git", "config", "--get-urlmatch", "credential.helper", w.srv.RepoURL)
	if !strings.Contains(line.stdout, "--store=file") {
		t.Fatalf("helper line after %q: %q", recipe, line.stdout)
	}
	if r := w.run("", env, "git", "clone", "-q", w.srv.RepoURL, filepath.Join(testenv.TempDir(t), "c")); r.err != nil {
		t.Fatalf("clone: %v\n%s", r.err, r.stderr)
	}
	assertInFileStore(t, w, statusOf(t, w, env...))
}

func TestReadmeFileStoreForOneShell(t *testing.T) {
	t.Parallel()
	testenv.SkipOnWindows(t, "sh, to run README's commands for Linux servers")
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	recipe := readmeRecipes(t)[1]
	script := recipe + "\ngit clone -q " + w.srv.RepoURL + " " + filepath.Join(testenv.TempDir(t), "c") + "\ngit-credential-azdo status --json\n"
	r := w.run("", nil, "sh", "-c", script)
	if r.err != nil {
		t.Fatalf("%s: %v\n%s", script, r.err, r.stderr)
	}
	assertInFileStore(t, w, oneStatus(t, r.stdout))
	// Outside that shell the keyring is used again, and holds nothing.
	if r := w.run("", nil, prog, "status", "--json"); r.err != nil || !strings.Contains(r.stdout, "Secret Service") {
		t.Errorf("status outside the shell: %v %s %s", r.err, r.stdout, r.stderr)
	}
}

func assertInFileStore(t *testing.T, w *world, st map[string]any) {
	t.Helper()
	if st["state"] != "valid" || !strings.Contains(st["store"].(string), "file") {
		t.Errorf("status = %v, want a valid PAT in the file store", st)
	}
	if fi, err := os.Stat(filepath.Join(w.home, "state", "credentials")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file store: %v %v", fi, err)
	}
	if rec, err := w.storedRecord(); err != nil || rec != nil {
		t.Errorf("the keyring holds a record (%v, %v): the file store was not used", rec, err)
	}
}

func TestReadmeSecretServiceInHeadlessSession(t *testing.T) {
	t.Parallel()
	testenv.SkipOnWindows(t, "sh, to run README's commands for Linux servers")
	for _, tool := range []string{"dbus-run-session", "gnome-keyring-daemon"} {
		testenv.NeedTool(t, tool, "README's recipe runs it")
	}
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	// No session bus from the test run: the recipe starts its own, with its own keyring files
	// under the world's HOME.
	env := []string{"DBUS_SESSION_BUS_ADDRESS=", "XDG_RUNTIME_DIR=" + testenv.TempDir(t), "KEYRING_PASSWORD=correct horse"}
	recipe := strings.Split(readmeRecipes(t)[2], "\n")
	if len(recipe) != 2 {
		t.Fatalf("the Secret Service recipe has %d lines, want 2: %q", len(recipe), recipe)
	}
	// The first line starts the shell; the reader then types the second, and then works.
	session := func(then string) result {
		return runProcess(slices.Concat(w.env, env), "", recipe[1]+"\n"+then+"\n", "sh", "-c", recipe[0])
	}
	r := session("git clone -q " + w.srv.RepoURL + " " + filepath.Join(testenv.TempDir(t), "c") + " && git-credential-azdo status --json")
	if r.err != nil {
		t.Fatalf("first session: %v\n%s", r.err, r.stderr)
	}
	if st := oneStatus(t, r.stdout); st["state"] != "valid" || !strings.Contains(st["store"].(string), "Secret Service") {
		t.Errorf("status in the session = %v, want a valid PAT in the Secret Service", st)
	}
	if rec, err := w.storedRecord(); err != nil || rec != nil {
		t.Errorf("the test run's keyring holds the record (%v, %v): the session's keyring was not used", rec, err)
	}
	// A later session unlocks the same keyring with the same password and finds the PAT.
	r = session("git-credential-azdo status --json")
	if r.err != nil {
		t.Fatalf("second session: %v\n%s", r.err, r.stderr)
	}
	if st := oneStatus(t, r.stdout); st["state"] != "valid" || st["silentRenewal"] != true {
		t.Errorf("status in a later session = %v, want the valid PAT with silent renewal", st)
	}
}
