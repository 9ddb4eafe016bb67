//go:build !windows

package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// noFollow opens the file itself, never a symbolic link's target, and never waits for a FIFO's
// other end. It changes nothing for a regular file.
const noFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

func openNoFollow(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|noFollow|syscall.O_CLOEXEC, 0o600)
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ELOOP, syscall.EMLINK: // EMLINK: the BSDs' answer to O_NOFOLLOW
			return nil, fmt.Errorf("%s is a symbolic link: refusing it: remove it", path)
		case syscall.ENXIO: // a FIFO opened for writing with nobody reading
			return nil, notRegular(path)
		}
	}
	return f, err
}

// checkDirAccess refuses a directory that another user owns or may write: they could plant or
// swap the files in it.
func checkDirAccess(dir string, fi fs.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s belongs to user %d, not to you (%d): refusing it: remove it or choose another --state-dir", dir, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by other users (mode %04o): refusing it: fix it with: chmod go-w %s", dir, fi.Mode().Perm(), dir)
	}
	return nil
}
