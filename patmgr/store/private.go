package store

import (
	"fmt"
	"io"
	"os"

	"github.com/gofrs/flock"
)

// OpenPrivate opens a file of the helper's state directory (a lock, the index, the journal, the
// file store) as one another local user may have planted: a symbolic link is not followed, a
// FIFO does not block, and anything but a regular file is refused. With os.O_CREATE a missing
// file is made with mode 0600.
func OpenPrivate(path string, flag int) (*os.File, error) {
	f, err := openNoFollow(path, flag)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = notRegular(path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ReadPrivate reads a whole file as OpenPrivate opens it; a missing file is fs.ErrNotExist.
func ReadPrivate(path string) ([]byte, error) {
	f, err := OpenPrivate(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// NewLock returns the lock on the file at path, which is made, or checked, as OpenPrivate does:
// a planted FIFO or symbolic link where a lock file belongs is refused rather than waited on.
func NewLock(path string) (*flock.Flock, error) {
	f, err := OpenPrivate(path, os.O_CREATE|os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	f.Close()
	return flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDONLY|noFollow), flock.SetPermissions(0o600)), nil
}

// MkdirPrivate makes dir (mode 0700) and any missing parent, then checks it with CheckDir.
func MkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return CheckDir(dir)
}

// CheckDir refuses a directory of the helper's state that is not one, or that other users could
// plant or swap files in.
func CheckDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory: refusing it: remove it", dir)
	}
	return checkDirAccess(dir, fi)
}

func notRegular(path string) error {
	return fmt.Errorf("%s is not a regular file: refusing it: remove it", path)
}
