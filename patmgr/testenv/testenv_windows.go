package testenv

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// cleanup removes dir with os.Remove alone (DeleteFile and RemoveDirectory, which Wine has),
// deepest paths first; t.TempDir's removal, which runs after it, then finds nothing left.
func cleanup(t testing.TB, dir string) {
	t.Cleanup(func() {
		var paths []string
		err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
			paths = append(paths, path)
			return err
		})
		if err != nil {
			t.Errorf("testenv: listing %s for removal: %v", dir, err)
			return
		}
		// WalkDir visits a directory before its contents, so in reverse each comes after them.
		for _, p := range slices.Backward(paths) {
			if err := os.Remove(p); err != nil {
				t.Errorf("testenv: %v", err)
				return
			}
		}
	})
}

// UnderWine reports whether this Windows program runs under Wine: Wine's ntdll exports
// wine_get_version; Windows' does not.
func UnderWine() bool {
	return syscall.NewLazyDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
