//go:build !windows

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// createTemp makes a new file, mode 0600, named prefix and decimal digits, in dir.
func createTemp(dir, prefix string) (*os.File, error) { return os.CreateTemp(dir, prefix+"*") }

// replaceFile renames tmp over path, atomically: readers see the old file or the new one.
func replaceFile(tmp, path string) error { return os.Rename(tmp, path) }

// syncDir flushes a directory so a rename in it survives a crash. Errors are
// ignored: some file systems do not support it and the data is already safe.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// openForReading opens path as OpenPrivate does, but a symbolic link or FIFO put there since the
// look is reported as a swap, which the next look refuses.
func openForReading(path string) (*os.File, error) {
	fh, err := os.OpenFile(path, os.O_RDONLY|noFollow, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%w: %s", errSwapped, path)
	}
	if err != nil {
		return nil, fmt.Errorf("file store: %w", err)
	}
	return fh, nil
}
