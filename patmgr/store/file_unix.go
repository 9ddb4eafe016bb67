//go:build !windows

package store

import "os"

func isWindows() bool { return false }

// syncDir flushes a directory so a rename in it survives a crash. Errors are
// ignored: some file systems do not support it and the data is already safe.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
