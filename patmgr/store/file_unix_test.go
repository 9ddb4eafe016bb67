//go:build !windows

package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// TestReadCheckedRefusesASwappedFile: the file read must be the one whose mode was checked; a
// file or a symbolic link put in its place in between is reported as swapped, so the caller
// looks again (and refuses a link with its own message).
func TestReadCheckedRefusesASwappedFile(t *testing.T) {
	dir := testenv.TempDir(t)
	path := filepath.Join(dir, "credentials")
	if err := os.WriteFile(path, []byte("k\tdg==\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	checked, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if data, err := readChecked(path, checked); err != nil || string(data) != "k\tdg==\n" {
		t.Fatalf("readChecked of the checked file = %q, %v", data, err)
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("x\tdg==\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	if _, err := readChecked(path, checked); !errors.Is(err, errSwapped) {
		t.Errorf("another file in its place: err = %v, want errSwapped", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "elsewhere"), path); err != nil {
		t.Fatal(err)
	}
	if _, err := readChecked(path, checked); !errors.Is(err, errSwapped) {
		t.Errorf("a symbolic link in its place: err = %v, want errSwapped", err)
	}
}
