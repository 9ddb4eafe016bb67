package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// isWindows: Unix permission bits mean nothing there; the file lives in the
// user's profile, which Windows ACLs already restrict.
func isWindows() bool { return true }

// syncDir: Windows cannot open a directory for flushing; rename is durable
// enough there once the file's own data was flushed.
func syncDir(string) {}

// openForReading opens path sharing delete access too, which os.Open does not: a writer replaces
// the file by renaming over it, and Windows refuses that rename while any reader holds the file
// open without FILE_SHARE_DELETE, so parallel gets would fail each other's saves.
func openForReading(path string) (*os.File, error) {
	name, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return nil, fmt.Errorf("file store: %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	h, err := syscall.CreateFile(name, syscall.GENERIC_READ,
		syscall.FILE_SHARE_READ|syscall.FILE_SHARE_WRITE|syscall.FILE_SHARE_DELETE,
		nil, syscall.OPEN_EXISTING, syscall.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, fmt.Errorf("file store: %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	return os.NewFile(uintptr(h), path), nil
}

// errSharingViolation is ERROR_SHARING_VIOLATION, which syscall does not name.
const errSharingViolation syscall.Errno = 32

// replaceFile renames tmp over path, atomically: readers see the old file or the new one.
// Windows refuses it while any process has path open, even with delete sharing (a reader; also
// antivirus or the search indexer). Readers hold a file for microseconds, so the rename is tried
// again for a while before it counts as failed.
func replaceFile(tmp, path string) error {
	for wait := time.Millisecond; ; wait *= 2 {
		err := os.Rename(tmp, path)
		var errno syscall.Errno
		if err == nil || !errors.As(err, &errno) || errno != syscall.ERROR_ACCESS_DENIED && errno != errSharingViolation || wait > time.Second {
			return err
		}
		time.Sleep(wait)
	}
}
