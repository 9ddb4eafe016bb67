package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// File is the opt-in Store kept in one file of lines "KEY<TAB>BASE64", the
// standard base64 of each value, sorted by key. The file is mode 0600 in a
// directory that only its owner may write; every write replaces the whole file
// by rename under an exclusive lock on a sibling "<file>.lock", so concurrent
// processes never lose each other's keys and readers need no lock.
// Keys have no control characters (checkKey), so neither separator can occur
// in one, and base64 has neither.
type File struct {
	path string
	// mu orders this process's writers before they contend for the file lock.
	mu sync.Mutex
}

// NewFile returns a file Store at path, creating missing parent directories
// with mode 0700. The file itself is created by the first Set. A directory
// others may write is refused here; a file others may read or write, or a
// corrupt one, by the first Get or Set.
func NewFile(path string) (Store, error) {
	if path == "" {
		return nil, errors.New("file store: no path given")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("file store: %w", err)
	}
	if err := MkdirPrivate(filepath.Dir(abs)); err != nil {
		return nil, fmt.Errorf("file store: %w", err)
	}
	// The lock file is checked before any work whose result would then be lost; the file
	// itself on every read, not here: a git get reads it once.
	if _, err := NewLock(abs + ".lock"); err != nil {
		return nil, fmt.Errorf("file store: %w", err)
	}
	return &File{path: abs}, nil
}

// Describe names the file for status and doctor output.
func (f *File) Describe() string { return "file " + f.path }

// Get reads the current file; the rename-based writes make any read see a
// complete file.
func (f *File) Get(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := f.load()
	if err != nil {
		return nil, err
	}
	enc, ok := m[key]
	if !ok {
		return nil, ErrNotFound
	}
	v, err := base64.StdEncoding.AppendDecode(nil, enc)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: value of %q is not base64; fix or delete that entry", ErrCorrupt, f.path, key)
	}
	return v, nil
}

// Set stores value under key.
func (f *File) Set(ctx context.Context, key string, value []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return f.update(ctx, func(m secrets) bool {
		m[key] = base64.StdEncoding.AppendEncode(nil, value)
		return true
	})
}

// Delete removes key; nothing is written when it is absent.
func (f *File) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return f.update(ctx, func(m secrets) bool {
		_, ok := m[key]
		delete(m, key)
		return ok
	})
}

// update is read-modify-write under the file lock: without the lock two
// processes setting different keys would each rename their own copy and one
// key would be lost.
func (f *File) update(ctx context.Context, change func(secrets) bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	lock, err := NewLock(f.path + ".lock")
	if err != nil {
		return fmt.Errorf("file store: %w", err)
	}
	// TryLockContext fails with an error whenever it returns without the lock.
	if locked, err := lock.TryLockContext(ctx, 10*time.Millisecond); !locked {
		return fmt.Errorf("file store: locking %s.lock: %w", f.path, err)
	}
	defer func() { _ = lock.Unlock() }()

	// Under the lock no writer of this file is alive, so every copy of ours left is one a
	// killed writer left.
	removeTempCopies(f.path)
	m, err := f.load()
	if err != nil {
		return err
	}
	if !change(m) {
		return nil
	}
	if err := WriteFileAtomic(f.path, formatSecrets(m)); err != nil {
		return fmt.Errorf("file store: replacing %s: %w", f.path, err)
	}
	return nil
}

// RemoveTempCopies removes what writers of s killed mid-write left (see WriteFileAtomic), under
// the file lock; a keyring store has none.
func RemoveTempCopies(ctx context.Context, s Store) error {
	f, ok := s.(*File)
	if !ok {
		return nil
	}
	return f.update(ctx, func(secrets) bool { return false })
}

// WriteFileAtomic writes a 0600 file in a 0700 directory: to a temporary file beside it, flushed,
// then renamed over it (rename is atomic within a directory), and the directory flushed so that
// the rename survives a crash. Readers never see half of it. The file store and the helper's
// files that hold no secret (the index, pending creates, configure's record) are written so.
// The temporary file is named after path (tempPrefix), so that the copies a killed writer left
// of one file can be told from another file's.
func WriteFileAtomic(path string, b []byte) error {
	if err := MkdirPrivate(filepath.Dir(path)); err != nil {
		return err
	}
	f, err := createTemp(filepath.Dir(path), tempPrefix(path))
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return err
	}
	if err := replaceFile(f.Name(), path); err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// tempPrefix starts the name of path's temporary copies: createTemp puts decimal digits after it.
func tempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

// removeTempCopies removes the regular files in path's directory that are named as
// WriteFileAtomic names path's temporary copies, and nothing else: no symbolic link is followed
// or removed. Only a caller that keeps every writer of path out may call it. It is best effort:
// a copy left now is removed by the next write.
func removeTempCopies(path string) {
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return
	}
	for _, e := range entries {
		digits, ours := strings.CutPrefix(e.Name(), tempPrefix(path))
		if ours && e.Type().IsRegular() && digits != "" && strings.Trim(digits, "0123456789") == "" {
			_ = os.Remove(filepath.Join(filepath.Dir(path), e.Name()))
		}
	}
}

// secrets maps each key to its value's base64.
type secrets map[string][]byte

// errSwapped means another process replaced the file between the checks and the open: an
// atomic rename by a writer, so reading again sees a whole file.
var errSwapped = errors.New("file store: the file changed while being opened")

// load reads and decodes the file; a missing file is an empty store. The file must be a regular
// file (not a symlink) that only its owner can access: the secrets are in clear text, protected
// by permissions alone. It looks again when a concurrent writer's rename swapped the file under us.
func (f *File) load() (secrets, error) {
	for attempt := 0; ; attempt++ {
		fi, err := os.Lstat(f.path)
		if errors.Is(err, fs.ErrNotExist) {
			return secrets{}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("file store: %w", err)
		}
		if err := checkFileInfo(f.path, fi); err != nil {
			return nil, err
		}
		data, err := readChecked(f.path, fi)
		if errors.Is(err, errSwapped) && attempt < 20 {
			continue
		}
		if err != nil {
			return nil, err
		}
		m, err := parseSecrets(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %s is not a valid secrets file (%v); it is left untouched: move it away to start empty (all stored secrets there are lost) or restore it",
				ErrCorrupt, f.path, err)
		}
		return m, nil
	}
}

// parseSecrets reads the lines of a secrets file. Every line must be complete: a file cut short
// is corrupt, not a store that lost its last key.
func parseSecrets(data []byte) (secrets, error) {
	m := secrets{}
	n := 0
	for line := range bytes.Lines(data) {
		n++
		line, complete := bytes.CutSuffix(line, []byte{'\n'})
		if !complete {
			return nil, fmt.Errorf("line %d is cut short", n)
		}
		k, value, ok := bytes.Cut(line, []byte{'\t'})
		key := string(k)
		_, repeated := m[key]
		switch {
		case !ok:
			return nil, fmt.Errorf("line %d has no tab between key and value", n)
		case checkKey(key) != nil:
			return nil, fmt.Errorf("line %d has an invalid key", n)
		case repeated:
			return nil, fmt.Errorf("line %d repeats a key", n)
		}
		m[key] = value
	}
	return m, nil
}

// formatSecrets writes m as parseSecrets reads it, sorted so that equal stores are equal files.
func formatSecrets(m secrets) []byte {
	var b bytes.Buffer
	for _, key := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s\t%s\n", key, m[key])
	}
	return b.Bytes()
}

// readChecked reads the file at path, which must be the one fi describes: a writer's rename
// between the look and the open is seen, and the file read again.
func readChecked(path string, fi fs.FileInfo) ([]byte, error) {
	fh, err := openForReading(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if ofi, err := fh.Stat(); err != nil || !os.SameFile(fi, ofi) {
		return nil, fmt.Errorf("%w: %s", errSwapped, path)
	}
	data, err := io.ReadAll(fh)
	if err != nil {
		return nil, fmt.Errorf("file store: reading %s: %w", path, err)
	}
	return data, nil
}

func checkFileInfo(path string, fi fs.FileInfo) error {
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("file store: %s is a symbolic link; refusing to follow it: replace it by the file itself (mv the target there) and chmod 600 %s", path, path)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("file store: %w", notRegular(path))
	}
	// Windows has no permission bits: createTemp gives each file an ACL instead.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("file store: %s is accessible by other users (mode %04o); fix it with: chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return nil
}
