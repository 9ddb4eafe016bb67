package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestTempDirIsRemovedWithItsContents: a tree with nested directories and files is gone after the
// test that made it, without failing that test.
func TestTempDirIsRemovedWithItsContents(t *testing.T) {
	var dir string
	t.Run("make", func(t *testing.T) {
		dir = TempDir(t)
		nested := filepath.Join(dir, "a", "b")
		if err := os.MkdirAll(nested, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{filepath.Join(dir, "top"), filepath.Join(nested, "deep")} {
			if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s still there after its test: %v", dir, err)
	}
}

// outcome records how Missing ended a test.
type outcome struct {
	testing.TB
	failed, skipped string
}

func (o *outcome) Helper() {}

func (o *outcome) Fatalf(format string, args ...any) {
	o.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (o *outcome) Skip(args ...any) {
	o.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}

// end runs f on a recording TB in a goroutine of its own, which Fatalf and Skip end.
func end(f func(testing.TB)) *outcome {
	o := &outcome{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(o)
	}()
	<-done
	return o
}

// TestMissingFailsOnlyInCI: a missing tool fails a CI run and skips elsewhere, naming the tool
// and why it is needed.
func TestMissingFailsOnlyInCI(t *testing.T) {
	const tool = "testenv-no-such-tool"
	for _, ci := range []string{"true", "1", "", "false"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			o := end(func(tb testing.TB) { NeedTool(tb, tool, "the test needs it") })
			said := o.failed + o.skipped
			if CI() != (o.failed != "") || CI() == (o.skipped != "") {
				t.Fatalf("CI=%q: failed %q, skipped %q", ci, o.failed, o.skipped)
			}
			if !strings.Contains(said, tool) || !strings.Contains(said, "the test needs it") {
				t.Errorf("the message does not name the tool and why: %q", said)
			}
		})
	}
	self, err := os.Executable() // a tool that is there on every system the tests run on
	if err != nil {
		t.Fatal(err)
	}
	if p := end(func(tb testing.TB) { NeedTool(tb, self, "") }); p.failed != "" || p.skipped != "" {
		t.Errorf("%s is there, yet NeedTool ended the test: %+v", self, p)
	}
}
