package azdotest

import (
	"fmt"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Git smart HTTP: real bare repositories served by `git http-backend`.

// gitEnv is the environment for every git the server runs: no user or
// system configuration may change what the emulator does.
func (s *Server) gitEnv() []string {
	home := filepath.Join(s.Dir, "home")
	return []string{
		"HOME=" + home, "XDG_CONFIG_HOME=" + home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_TERMINAL_PROMPT=0", "PATH=" + os.Getenv("PATH"), "LANG=C",
		"GIT_AUTHOR_NAME=Azure DevOps Emulator", "GIT_AUTHOR_EMAIL=emulator@azdo.example",
		"GIT_COMMITTER_NAME=Azure DevOps Emulator", "GIT_COMMITTER_EMAIL=emulator@azdo.example",
	}
}

func (s *Server) git(dir string, args ...string) error {
	cmd := exec.Command(s.gitPath, args...)
	cmd.Dir = dir
	cmd.Env = s.gitEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// AddRepo creates a bare repository seeded with one commit (a README) on
// branch main, served at {org}/{project}/_git/{repo}.
func (s *Server) AddRepo(orgName, project, repo string) error {
	for _, part := range []string{project, repo} {
		if part == "" || strings.ContainsAny(part, "/\\?#%") || strings.HasPrefix(part, ".") || strings.HasPrefix(part, "_") {
			return fmt.Errorf("invalid project or repository name %q", part)
		}
	}
	s.mu.Lock()
	o := s.orgLocked(orgName)
	key := strings.ToLower(orgName + "/" + project + "/" + repo)
	_, exists := s.st.repos[key]
	s.mu.Unlock()
	if o == nil {
		return fmt.Errorf("organisation %s: %w", orgName, errNotFound)
	}
	if exists {
		return fmt.Errorf("repository %s: %w", key, errExists)
	}
	if err := os.MkdirAll(filepath.Join(s.Dir, "home"), 0o700); err != nil {
		return err
	}
	bare := filepath.Join(s.Dir, "repos", strings.ToLower(orgName), strings.ToLower(project), strings.ToLower(repo)+".git")
	// An earlier server on the same Dir made it: serve it as it is, with what was pushed.
	if _, err := os.Stat(filepath.Join(bare, "HEAD")); err != nil {
		if err := s.seedRepo(bare, orgName, project, repo); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.repos[key] = bare
	return nil
}

// seedRepo makes the bare repository bare with one commit on main, a README.
func (s *Server) seedRepo(bare, orgName, project, repo string) error {
	work, err := os.MkdirTemp(s.Dir, "seed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	readme := fmt.Sprintf("# %s\n\nSeeded by the Azure DevOps emulator for %s/%s.\n", repo, orgName, project)
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte(readme), 0o644); err != nil {
		return err
	}
	steps := [][]string{
		{"init", "--quiet", "--bare", "--initial-branch=main", bare},
		{"init", "--quiet", "--initial-branch=main", "."},
		{"add", "README.md"},
		{"commit", "--quiet", "-m", "Initial commit"},
		{"push", "--quiet", bare, "main"},
	}
	for _, args := range steps {
		if err := s.git(work, args...); err != nil {
			return err
		}
	}
	return nil
}

// serveGit authenticates like Azure DevOps and hands the request to git
// http-backend. Reading needs a code-read scope, pushing (receive-pack) a
// code-write one; a live Entra token for Azure DevOps may do both.
func (s *Server) serveGit(w http.ResponseWriter, r *http.Request) {
	segs := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 5)
	orgName, project, repo := segs[0], segs[1], segs[3]
	rest := ""
	if len(segs) == 5 {
		rest = "/" + segs[4]
	}
	repo = strings.TrimSuffix(repo, ".git")
	push := r.URL.Query().Get("service") == "git-receive-pack" || strings.HasSuffix(rest, "/git-receive-pack")

	s.mu.Lock()
	o := s.orgLocked(orgName)
	bare := s.st.repos[strings.ToLower(orgName+"/"+project+"/"+repo)]
	var p *principal
	authorized, scoped := false, false
	if o != nil {
		p = s.authenticateLocked(r, true)
		switch {
		case p == nil || !memberOf(p.user, o):
		case p.pat != nil:
			authorized = s.patUsableLocked(p.pat, o)
			scoped = scopeAllows(p.pat.scope, readScopes) && (!push || scopeAllows(p.pat.scope, writeScopes))
		default:
			authorized, scoped = true, true
		}
	}
	s.mu.Unlock()

	switch {
	case o == nil:
		http.Error(w, "TF400813: organisation not found", http.StatusNotFound)
		return
	case !authorized:
		s.challenge(w, o, "TF400813: The user is not authorized to access this resource.")
		return
	case !scoped:
		// A valid credential without the scope is a permission problem, not
		// an authentication one: Azure DevOps answers 403 so git does not
		// discard the credential and loop.
		http.Error(w, "TF401027: You need the Git 'GenericContribute' permission to perform this action (the personal access token's scope does not allow it).", http.StatusForbidden)
		return
	case bare == "":
		http.Error(w, "TF401019: The Git repository with name or identifier "+repo+" does not exist or you do not have permissions for the operation you are attempting.", http.StatusNotFound)
		return
	}

	rel, err := filepath.Rel(filepath.Join(s.Dir, "repos"), bare)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := &cgi.Handler{
		Path: s.gitPath,
		Args: []string{"http-backend"},
		Dir:  s.Dir,
		Env: append(s.gitEnv(),
			"GIT_PROJECT_ROOT="+filepath.Join(s.Dir, "repos"),
			"GIT_HTTP_EXPORT_ALL=1",
			// http-backend only enables receive-pack for an authenticated user.
			"REMOTE_USER="+p.user.upn,
		),
		Stderr: logWriter{s},
	}
	// http-backend finds the repository from PATH_INFO, relative to
	// GIT_PROJECT_ROOT: rewrite the Azure DevOps path onto the bare repo.
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + filepath.ToSlash(rel) + rest
	r2.URL.RawPath = ""
	h.ServeHTTP(w, r2)
}

// logWriter sends http-backend's stderr and net/http's own complaints
// (such as TLS handshake failures) to the server log.
type logWriter struct{ s *Server }

func (l logWriter) Write(b []byte) (int, error) {
	l.s.logf("%s", strings.TrimSpace(string(b)))
	return len(b), nil
}
