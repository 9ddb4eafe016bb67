package store

import (
	"bytes"
	"fmt"
	"os"
)

// isWindows: Unix permission bits mean nothing there; the file lives in the
// user's profile, which Windows ACLs already restrict.
func isWindows() bool { return true }

// syncDir: Windows cannot open a directory for flushing; rename is durable
// enough there once the file's own data was flushed.
func syncDir(string) {}

// readChecked reads the file at path, which must be the one fi describes (no swap in between).
func readChecked(path string, fi os.FileInfo) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("file store: %w", err)
	}
	defer fh.Close()
	if ofi, err := fh.Stat(); err != nil || !os.SameFile(fi, ofi) {
		return nil, fmt.Errorf("%w: %s", errSwapped, path)
	}
	// Sized from the file's length: io.ReadAll's doublings would allocate several times over.
	data := bytes.NewBuffer(make([]byte, 0, fi.Size()+bytes.MinRead))
	if _, err := data.ReadFrom(fh); err != nil {
		return nil, fmt.Errorf("file store: reading %s: %w", path, err)
	}
	return data.Bytes(), nil
}
