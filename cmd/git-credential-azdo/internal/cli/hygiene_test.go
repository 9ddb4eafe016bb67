package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// secretSet gathers the secrets a world's helper was given, from the places they can be read
// back: the PAT record and the MSAL cache in the keyring, and get's own answers. (The emulator
// has no accessor for every token it issued; rotated refresh tokens are caught by reading the
// cache after each step.)
type secretSet map[string]string // secret -> where it was found

func (s secretSet) add(where string, secrets ...string) {
	for _, v := range secrets {
		if len(v) >= 16 {
			if _, ok := s[v]; !ok {
				s[v] = where
			}
		}
	}
}

// TestSecretsNeverLeak runs full flows with AZDO_TRACE=1: clone, push, renewal, revocation and
// replacement, the CLI (login, list, status), and the policy fallback. None of the PATs, access,
// refresh or ID tokens the helper held appears in any stdout, stderr or trace output (get's
// stdout, the protocol channel, excepted), nor in any file under the helper's state directory.
// Files the helper writes are 0600 in 0700 directories.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true}, "AZDO_TRACE=1", "AZDO_LIFETIME=1h")
	secrets := secretSet{}
	var outputs []string // everything a user or a log could see
	collect := func(step string) {
		secrets.add(step, w.storedSecrets()...)
	}
	gitRun := func(step, dir string, args ...string) {
		t.Helper()
		r := w.git(dir, args...)
		if r.err != nil {
			t.Fatalf("%s: git %v: %v\n%s", step, args, r.err, r.stderr)
		}
		outputs = append(outputs, r.stdout, r.stderr)
		if !strings.Contains(r.stderr, "trace:") && step == "clone" {
			t.Fatalf("tracing is not on: %q", r.stderr)
		}
		collect(step)
	}
	cli := func(step string, args ...string) result {
		t.Helper()
		r := w.azdo(nil, nil, args...)
		if r.code != 0 {
			t.Fatalf("%s: %v: exit %d\n%s", step, args, r.code, r.stderr)
		}
		outputs = append(outputs, r.stdout, r.stderr)
		collect(step)
		return r
	}

	dir := filepath.Join(testenv.TempDir(t), "clone")
	gitRun("clone", "", "clone", "-q", w.srv.RepoURL, dir)
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun("commit", dir, "add", "f.txt")
	gitRun("commit", dir, "commit", "-qm", "x")
	gitRun("push", dir, "push", "-q", "origin", "HEAD:main")

	// Renewal: the PAT is inside a 59m58s window two seconds after it was made.
	w.env = append(w.env, "AZDO_RENEW_BEFORE=59m58s", clockSkewEnv+"=2100ms")
	gitRun("renew", dir, "fetch", "-q")
	if c := w.srv.Counters(); c.PATsRenewed == 0 {
		t.Fatalf("no renewal happened: %+v", c)
	}
	w.env = w.env[:len(w.env)-2] // back to the default window and the real clock

	// Revocation out of band: git fails once, erases, and the next get replaces the PAT.
	old := w.activePATs()[0]
	if err := w.srv.RevokePAT(old.AuthorizationID); err != nil {
		t.Fatal(err)
	}
	if r := w.git(dir, "fetch", "-q"); r.err == nil {
		t.Fatalf("fetch with a revoked PAT succeeded")
	} else {
		outputs = append(outputs, r.stdout, r.stderr)
	}
	gitRun("replace", dir, "fetch", "-q")

	// A direct get, its stderr only: stdout is git's channel and carries the PAT by design.
	r := w.get()
	secrets.add("get", r.password())
	outputs = append(outputs, r.stderr)

	// The CLI.
	cli("login", "login", w.srv.Org)
	cli("list", "list", w.srv.Org, "--all")
	cli("status", "status")
	cli("status --json", "status", "--json")

	// The policy fallback hands out the Entra access token itself.
	if err := w.srv.SetPolicy(w.srv.Org, azdotest.Policy{DisablePATCreation: true}); err != nil {
		t.Fatal(err)
	}
	if err := w.srv.RevokePAT(w.activePATs()[0].AuthorizationID); err != nil {
		t.Fatal(err)
	}
	if r := w.git(dir, "fetch", "-q"); r.err == nil {
		t.Fatalf("fetch with a revoked PAT succeeded")
	} else {
		outputs = append(outputs, r.stdout, r.stderr)
	}
	gitRun("fallback", dir, "fetch", "-q")
	fb := w.get()
	if fb.code != 0 {
		t.Fatalf("get under the policy: %s", fb.stderr)
	}
	secrets.add("fallback get", fb.password())
	outputs = append(outputs, fb.stderr)
	collect("end")

	// Count what was checked.
	kinds := map[string]int{}
	for s := range secrets {
		switch {
		case strings.HasPrefix(s, "rt."):
			kinds["refresh tokens"]++
		case strings.Count(s, ".") == 2 && strings.HasPrefix(s, "ey"):
			kinds["JWTs (access and ID tokens)"]++
		default:
			kinds["PATs"]++
		}
	}
	if kinds["PATs"] < 2 || kinds["refresh tokens"] < 1 || kinds["JWTs (access and ID tokens)"] < 2 {
		t.Fatalf("too few secrets gathered to mean anything: %v", kinds)
	}

	// Files under the state directory: no secret, private modes.
	stateDir := filepath.Join(w.home, "state")
	var files int
	err := filepath.WalkDir(stateDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if runtime.GOOS != "windows" {
			if d.IsDir() && fi.Mode().Perm() != 0o700 {
				t.Errorf("directory %s has mode %v, want 0700", p, fi.Mode().Perm())
			}
			if !d.IsDir() && fi.Mode().Perm() != 0o600 {
				t.Errorf("file %s has mode %v, want 0600", p, fi.Mode().Perm())
			}
		}
		if !d.IsDir() {
			files++
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			outputs = append(outputs, string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	leaks := 0
	for s, where := range secrets {
		for _, out := range outputs {
			if strings.Contains(out, s) {
				leaks++
				t.Errorf("a secret (first seen at %s, %d chars) appears in the output", where, len(s))
				break
			}
		}
	}
	var total int
	for _, o := range outputs {
		total += len(o)
	}
	t.Logf("secret hygiene: %d secrets checked (%v) against %d outputs and files (%d bytes, %d state files): %d leaked",
		len(secrets), kinds, len(outputs), total, files, leaks)
}

// TestFileStoreModes: the opt-in file store and everything beside it are private.
func TestFileStoreModes(t *testing.T) {
	t.Parallel()
	testenv.SkipOnWindows(t, "POSIX file modes")
	w := newWorld(t, azdotest.Options{AutoApprove: true}, "AZDO_STORE=file")
	mustGet(t, w)
	// Also with a store file outside the state directory, in a directory that does not exist yet.
	other := filepath.Join(testenv.TempDir(t), "deep", "er", "creds.json")
	mustGet(t, w, "AZDO_STORE_FILE="+other)
	for _, root := range []string{filepath.Join(w.home, "state"), filepath.Dir(other)} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Error(err)
				return nil
			}
			fi, _ := d.Info()
			want := fs.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), want)
			}
			return nil
		})
	}
	if _, err := os.Stat(filepath.Join(w.home, "state", "credentials")); err != nil {
		t.Errorf("no credentials: %v", err)
	}
}
