//go:build unix

package harden

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// The test binary doubles as the process to crash: TestMain runs it as a child that hardens itself
// (or not, for the control), says so on stdout and waits for a signal.
const childEnv = "HARDEN_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "harden":
		if err := NoCoreDumps(); err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("ready " + limits() + "\n")
		os.Stdin.Read(make([]byte, 1)) // until the parent kills us
		os.Exit(0)
	case "plain":
		os.Stdout.WriteString("ready\n")
		os.Stdin.Read(make([]byte, 1)) // until the parent kills us
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crash starts the test binary as a child in a fresh directory with core dumps allowed, lets it
// harden itself or not, aborts it the way a Go crash does, and returns the files it left there.
func crash(t *testing.T, mode string) (files []string, said string) {
	t.Helper()
	dir := testenv.TempDir(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `ulimit -c unlimited && exec "$0"`, self)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "GOTRACEBACK=crash")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	said, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "ready")
	if !ok {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, want ready", line)
	}
	cmd.Process.Signal(syscall.SIGABRT)
	cmd.Wait()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		files = append(files, e.Name())
	}
	return files, strings.TrimSpace(said)
}

// TestNoCoreFileAfterACrash aborts a hardened process where an unhardened one leaves a core file.
// The control needs the kernel to write cores into the working directory; where a crash handler
// takes them instead (core_pattern is a pipe), only the hardened half can be checked.
func TestNoCoreFileAfterACrash(t *testing.T) {
	pattern, err := os.ReadFile("/proc/sys/kernel/core_pattern")
	relative := err == nil && !strings.HasPrefix(string(pattern), "|") && !filepath.IsAbs(strings.TrimSpace(string(pattern)))
	if relative {
		if files, _ := crash(t, "plain"); len(files) == 0 {
			t.Fatalf("the control left no core file with core_pattern %q: this test cannot tell a hardened process", pattern)
		}
	} else {
		t.Logf("core_pattern %q does not write into the working directory: the control is not run", pattern)
	}
	files, limits := crash(t, "harden")
	if len(files) != 0 {
		t.Fatalf("a hardened process left %v after SIGABRT", files)
	}
	if want := wantLimits; limits != want {
		t.Errorf("a hardened process reports %q, want %q", limits, want)
	}
}
