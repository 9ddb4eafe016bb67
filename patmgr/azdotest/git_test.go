package azdotest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// gitRunner runs the real git with an isolated configuration that trusts
// only the emulator's CA.
type gitRunner struct {
	t   *testing.T
	s   *Server
	env []string
}

func newGitRunner(t *testing.T, s *Server) *gitRunner {
	t.Helper()
	testenv.NeedTool(t, "git", "the emulator serves git smart HTTP to it")
	home := testenv.TempDir(t)
	global := filepath.Join(home, "gitconfig")
	if err := os.WriteFile(global, []byte("[user]\n\tname = Test\n\temail = test@example.com\n[http]\n\tsslCAInfo = "+s.CAFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &gitRunner{t: t, s: s, env: []string{
		"HOME=" + home, "XDG_CONFIG_HOME=" + home, "GIT_CONFIG_GLOBAL=" + global, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0", "PATH=" + os.Getenv("PATH"), "LANG=C", "GIT_ASKPASS=", "SSH_ASKPASS=",
	}}
}

// run runs git with an inline credential helper answering password; it
// returns the combined output and whether git succeeded.
func (g *gitRunner) run(dir, password string, args ...string) (string, bool) {
	g.t.Helper()
	helper := "!f(){ echo username=x; echo password=" + password + "; }; f"
	full := append([]string{"-c", "credential.helper=", "-c", "credential.helper=" + helper}, args...)
	cmd := exec.Command("git", full...)
	cmd.Dir = dir
	cmd.Env = g.env
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

func createPAT(t *testing.T, s *Server, scope string, life time.Duration) (id, secret string) {
	t.Helper()
	api := patAPI{t, s, s.Org, userToken(t, s, s.User, s.Password, "")}
	st, r := api.create("git", scope, s.Now().Add(life))
	if st != 200 || r.PatToken == nil || r.PatToken.Token == nil {
		t.Fatalf("create PAT: %d %+v", st, r)
	}
	return r.PatToken.AuthorizationID, *r.PatToken.Token
}

func TestGitCloneAndPush(t *testing.T) {
	s := newTestServer(t, Options{})
	g := newGitRunner(t, s)
	id, pat := createPAT(t, s, "vso.code_write", 24*time.Hour)

	work := testenv.TempDir(t)
	if out, ok := g.run(work, pat, "clone", s.RepoURL, "clone"); !ok {
		t.Fatalf("clone: %s", out)
	}
	clone := filepath.Join(work, "clone")
	if b, err := os.ReadFile(filepath.Join(clone, "README.md")); err != nil || !strings.Contains(string(b), "demo") {
		t.Fatalf("README: %v %q", err, b)
	}
	if out, _ := g.run(clone, pat, "rev-parse", "--abbrev-ref", "HEAD"); strings.TrimSpace(out) != "main" {
		t.Errorf("branch %q", out)
	}
	if err := os.WriteFile(filepath.Join(clone, "new.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"add", "new.txt"}, {"commit", "-qm", "add new.txt"}} {
		if out, ok := g.run(clone, pat, args...); !ok {
			t.Fatalf("%v: %s", args, out)
		}
	}
	if out, ok := g.run(clone, pat, "push", "origin", "main"); !ok {
		t.Fatalf("push: %s", out)
	}
	// The push really landed: a fresh clone has the file.
	if out, ok := g.run(work, pat, "clone", s.RepoURL, "again"); !ok {
		t.Fatalf("clone again: %s", out)
	}
	if _, err := os.Stat(filepath.Join(work, "again", "new.txt")); err != nil {
		t.Errorf("pushed file missing: %v", err)
	}

	// Revoked: nothing works any more.
	if err := s.RevokePAT(id); err != nil {
		t.Fatal(err)
	}
	if out, ok := g.run(work, pat, "ls-remote", s.RepoURL); ok || !strings.Contains(out, "Authentication failed") {
		t.Errorf("ls-remote with revoked PAT: ok=%v %s", ok, out)
	}
	// An Entra access token for Azure DevOps works as the password too.
	tok := userToken(t, s, s.User, s.Password, "")
	if out, ok := g.run(work, tok, "ls-remote", s.RepoURL); !ok || !strings.Contains(out, "refs/heads/main") {
		t.Errorf("ls-remote with access token: %s", out)
	}
	if s.Counters().Requests["git"] == 0 {
		t.Error("git requests not counted")
	}
}

func TestGitExpiredAndReadOnly(t *testing.T) {
	s := newTestServer(t, Options{})
	g := newGitRunner(t, s)
	_, ro := createPAT(t, s, "vso.code", 24*time.Hour)
	_, short := createPAT(t, s, "vso.code_write", time.Hour)
	_, other := createPAT(t, s, "vso.work", 24*time.Hour)
	work := testenv.TempDir(t)
	if out, ok := g.run(work, ro, "clone", s.RepoURL, "ro"); !ok {
		t.Fatalf("read-only clone: %s", out)
	}
	clone := filepath.Join(work, "ro")
	for _, args := range [][]string{{"commit", "-q", "--allow-empty", "-m", "empty"}} {
		if out, ok := g.run(clone, ro, args...); !ok {
			t.Fatalf("%v: %s", args, out)
		}
	}
	if out, ok := g.run(clone, ro, "push", "origin", "main"); ok || !strings.Contains(out, "403") {
		t.Errorf("push with read-only PAT: ok=%v %s", ok, out)
	}
	if out, ok := g.run(work, other, "ls-remote", s.RepoURL); ok || !strings.Contains(out, "403") {
		t.Errorf("ls-remote with a non-code PAT: ok=%v %s", ok, out)
	}
	if out, ok := g.run(work, short, "ls-remote", s.RepoURL); !ok {
		t.Fatalf("ls-remote before expiry: %s", out)
	}
	s.Advance(61 * time.Minute)
	if out, ok := g.run(work, short, "ls-remote", s.RepoURL); ok || !strings.Contains(out, "Authentication failed") {
		t.Errorf("ls-remote with expired PAT: ok=%v %s", ok, out)
	}
	if out, ok := g.run(work, "", "ls-remote", s.RepoURL+"-missing"); ok {
		t.Errorf("missing repo: %s", out)
	}
}

// A server started again on the same Dir serves the repositories the last one left, pushes
// included, instead of failing to seed them again.
func TestRestartOnTheSameDirKeepsTheRepositories(t *testing.T) {
	dir := testenv.TempDir(t)
	s := newTestServer(t, Options{Dir: dir})
	g := newGitRunner(t, s)
	_, pat := createPAT(t, s, "vso.code_write", 24*time.Hour)
	work := testenv.TempDir(t)
	clone := filepath.Join(work, "clone")
	for _, args := range [][]string{{"clone", "-q", s.RepoURL, clone}, {"-C", clone, "commit", "-q", "--allow-empty", "-m", "pushed before the restart"}, {"-C", clone, "push", "-q", "origin", "main"}} {
		if out, ok := g.run(work, pat, args...); !ok {
			t.Fatalf("%v: %s", args, out)
		}
	}
	s.Close()
	again := newTestServer(t, Options{Dir: dir})
	g = newGitRunner(t, again)
	_, pat = createPAT(t, again, "vso.code", 24*time.Hour)
	if out, ok := g.run(work, pat, "clone", "-q", again.RepoURL, filepath.Join(work, "again")); !ok {
		t.Fatalf("clone after the restart: %s", out)
	}
	if out, _ := g.run(filepath.Join(work, "again"), pat, "log", "-1", "--format=%s"); strings.TrimSpace(out) != "pushed before the restart" {
		t.Fatalf("last commit after the restart: %q", out)
	}
}
