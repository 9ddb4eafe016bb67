package testenv

import (
	"os"
	"path/filepath"
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
