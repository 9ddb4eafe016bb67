//go:build linux

package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// TestWindowsHelperUnderWine runs the Windows build of the helper under Wine against the emulator
// (on Linux), through git's credential protocol on stdin, for each store: get signs in by device
// code and mints one PAT, a second get serves it without a request, erase marks it, and the next
// get replaces it and revokes the old one, with no new sign-in.
func TestWindowsHelperUnderWine(t *testing.T) {
	t.Parallel()
	wine := newWinePrefix(t)
	exe := buildWindowsHelper(t)
	for _, storeName := range []string{"keyring", "file"} {
		t.Run(storeName, func(t *testing.T) {
			srv, err := azdotest.NewServer(azdotest.Options{AutoApprove: true, Dir: testenv.TempDir(t)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			state := testenv.TempDir(t)
			u, err := url.Parse(srv.RepoURL)
			if err != nil {
				t.Fatal(err)
			}
			request := fmt.Sprintf("protocol=https\nhost=%s\npath=%s\n\n", u.Host, strings.TrimPrefix(u.Path, "/"))
			helper := func(op, input string) string {
				t.Helper()
				return wine.run(t, input, exe, "--service-url="+srv.URL, "--authority="+srv.URL,
					"--ca-file="+windowsPath(srv.CAFile), "--state-dir="+windowsPath(state),
					"--login=device", "--store="+storeName, op)
			}
			requests := func() int {
				n := 0
				for _, c := range srv.Counters().Requests {
					n += c
				}
				return n
			}

			first := password(t, helper("get", request))
			c := srv.Counters()
			if c.Grants["device_code"] != 1 || c.PATsCreated != 1 {
				t.Fatalf("first get: want one device-code sign-in and one PAT, got grants %v, %d PATs created", c.Grants, c.PATsCreated)
			}
			before := requests()
			if again := password(t, helper("get", request)); again != first {
				t.Fatal("second get served another password than the first")
			}
			if n := requests() - before; n != 0 {
				t.Fatalf("second get made %d requests, want none", n)
			}

			helper("erase", strings.TrimSuffix(request, "\n")+"username=contoso\npassword="+first+"\n\n")
			if replaced := password(t, helper("get", request)); replaced == first {
				t.Fatal("get after erase served the erased password")
			}
			c = srv.Counters()
			if c.PATsCreated != 2 || c.PATsRevoked != 1 || c.Grants["device_code"] != 1 {
				t.Fatalf("get after erase: want a second PAT, the first revoked and no new sign-in; got %d created, %d revoked, grants %v",
					c.PATsCreated, c.PATsRevoked, c.Grants)
			}
			if pats := srv.PATs(); len(pats) != 2 || pats[0].Status != "revoked" || pats[1].Status != "active" {
				t.Fatalf("want the first PAT revoked and the second active, got %+v", pats)
			}

			// The secrets are where the store says: the file store's file, or the Credential
			// Manager and no file.
			_, err = os.Stat(filepath.Join(state, "credentials"))
			if storeName == "file" && err != nil {
				t.Fatalf("--store=file left no credentials file: %v", err)
			}
			if storeName == "keyring" && !os.IsNotExist(err) {
				t.Fatalf("--store=keyring wrote a credentials file (stat: %v)", err)
			}
		})
	}
}

// password is the password line of a get's answer.
func password(t *testing.T, answer string) string {
	t.Helper()
	for _, line := range strings.Split(answer, "\n") {
		if p, ok := strings.CutPrefix(line, "password="); ok && p != "" {
			return p
		}
	}
	t.Fatalf("the answer has no password (%d bytes of output)", len(answer))
	return ""
}

// windowsPath names a Linux path as Wine's Z: drive shows it to Windows programs.
func windowsPath(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }

// buildWindowsHelper builds the Windows program and returns its path.
func buildWindowsHelper(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(testenv.TempDir(t), prog+".exe")
	if err := goBuild([]string{"GOOS=windows", "GOARCH=amd64"}, "build", "-o", exe, "./cmd/git-credential-azdo"); err != nil {
		t.Fatalf("building the Windows helper: %v", err)
	}
	return exe
}

// winePrefix is a throwaway Wine prefix; dir holds the output files of the commands run in it.
type winePrefix struct {
	env []string
	dir string
}

// newWinePrefix makes a throwaway Wine prefix that runs Go programs: Wine 8.0 lacks
// bcryptprimitives.dll's ProcessPrng, which Go calls at start, so .ci's shim is built into it.
// Without wine or the MinGW compiler it skips t, or fails it when CI is true.
func newWinePrefix(t *testing.T) *winePrefix {
	t.Helper()
	for _, tool := range []string{"wine", "wineboot", "wineserver", "x86_64-w64-mingw32-gcc"} {
		testenv.NeedTool(t, tool, "for the Windows round trip; .ci/wine installs it, or Debian: apt-get install wine wine64 gcc-mingw-w64-x86-64-win32")
	}
	w := &winePrefix{dir: testenv.TempDir(t)}
	prefix := filepath.Join(w.dir, "prefix")
	// TMPDIR: wineserver's socket directory goes with the prefix, instead of staying in /tmp.
	w.env = append(os.Environ(), "TMPDIR="+w.dir, "WINEPREFIX="+prefix, "WINEARCH=win64", "WINEDEBUG=-all",
		// No Mono or Gecko: the helper needs neither, and the prefix is made without asking for them.
		"WINEDLLOVERRIDES=mscoree,mshtml=")
	if err := os.Mkdir(prefix, 0o700); err != nil {
		t.Fatal(err)
	}
	// One wineserver for the whole test, rather than one started for each program and lingering
	// after it; -k stops it and every Windows process of the prefix.
	w.mustRun(t, "", "wineserver", "-p")
	t.Cleanup(func() { w.mustRun(t, "", "wineserver", "-k") })
	w.mustRun(t, "", "wineboot", "-i")
	w.mustRun(t, "", "x86_64-w64-mingw32-gcc", "-shared", "-O2", "-s",
		"-o", filepath.Join(prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll"),
		filepath.Join("..", "..", "..", "..", ".ci", "bcryptprimitives.c"), "-ladvapi32")
	return w
}

// mustRun runs a command in the prefix with input on stdin and returns its stdout, which may hold
// a credential and so is never printed; stderr is, on failure. Both go to files, not pipes: Wine
// leaves processes behind (wineserver, services) that would hold a pipe open.
func (w *winePrefix) mustRun(t *testing.T, input, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = w.env
	cmd.Stdin = strings.NewReader(input)
	stdout, err := os.CreateTemp(w.dir, "stdout-")
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.CreateTemp(w.dir, "stderr-")
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	out, _ := os.ReadFile(stdout.Name())
	errOut, _ := os.ReadFile(stderr.Name())
	if err != nil {
		t.Fatalf("%s %s: %v\nstderr: %s", filepath.Base(name), args[len(args)-1], err, errOut)
	}
	return string(out)
}

// run runs the Windows program exe under Wine; see mustRun.
func (w *winePrefix) run(t *testing.T, input, exe string, args ...string) string {
	t.Helper()
	return w.mustRun(t, input, "wine", append([]string{exe}, args...)...)
}
