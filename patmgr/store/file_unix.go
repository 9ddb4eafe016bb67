//go:build !windows

package store

import (
	"fmt"
	"os"
	"syscall"
)

func isWindows() bool { return false }

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

// readChecked reads the file at path, which must be the one fi describes (no swap in between).
// It reads through the system calls: os.Open would first try to register the file with the
// runtime's network poller, which refuses regular files, and that costs the one read of a git
// get several system calls for nothing.
func readChecked(path string, fi os.FileInfo) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
	if err == syscall.ELOOP {
		return nil, fmt.Errorf("%w: %s", errSwapped, path) // a link now: the next look refuses it
	}
	if err != nil {
		return nil, fmt.Errorf("file store: %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	want, ok := fi.Sys().(*syscall.Stat_t)
	if err := syscall.Fstat(fd, &st); err != nil || !ok || st.Dev != want.Dev || st.Ino != want.Ino {
		return nil, fmt.Errorf("%w: %s", errSwapped, path)
	}
	// Sized from the file's length, with room to see the end of a file that grew meanwhile.
	data := make([]byte, 0, st.Size+512)
	for {
		n, err := syscall.Read(fd, data[len(data):cap(data)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("file store: reading %s: %w", path, err)
		}
		if n == 0 {
			return data, nil
		}
		data = data[:len(data)+n]
		if len(data) == cap(data) {
			data = append(data, make([]byte, 4096)...)[:len(data)]
		}
	}
}
