package store

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// Some tests run in a child process of the test binary: another process
// for cross-process tests, or a private environment (see child_linux_test.go).

// runChild runs test name in a child process of this test binary.
func runChild(t *testing.T, name string, env ...string) {
	t.Helper()
	if err := runChildErr(name, env...); err != nil {
		t.Fatal(err)
	}
}

// runChildErr is runChild for goroutines other than the test's.
func runChildErr(name string, env ...string) error {
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"="+name)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		return fmt.Errorf("child %s: %v\n%s", name, err, out)
	}
	return nil
}

func childOnly(t *testing.T) {
	if os.Getenv(envChild) != t.Name() {
		t.Skip("runs in a child process")
	}
}

func requireBin(t *testing.T, bin string) {
	t.Helper()
	testenv.NeedTool(t, bin, "the store's bus tests run it")
}

// shortTemp returns a directory with a path short enough for a unix socket.
func shortTemp(t *testing.T) string {
	d, err := os.MkdirTemp("", "st")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// TestChildFileWriter is the other process in TestFileConcurrentProcesses.
func TestChildFileWriter(t *testing.T) {
	childOnly(t)
	s, err := NewFile(os.Getenv("STORE_TEST_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	prefix := os.Getenv("STORE_TEST_PREFIX")
	for i := 0; i < 20; i++ {
		if err := s.Set(context.Background(), fmt.Sprintf("%s-%d", prefix, i), []byte(prefix)); err != nil {
			t.Fatal(err)
		}
	}
}
