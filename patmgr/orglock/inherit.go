//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

// A flock(2) lock belongs to the open file description, which a child shares with the parent
// that passed it the descriptor, so a lock can be handed to a child. gofrs/flock emulates flock
// with fcntl on the systems left out here, and fcntl locks belong to the process.

package orglock

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// FDEnv names the descriptor of a lock a child inherited from the process that started it. It
// is not an AZDO_* name: those are settings.
const FDEnv = "GIT_CREDENTIAL_AZDO_LOCK_FD"

// TryAcquire takes key's lock exclusively if nobody holds it, and returns nil if somebody does.
// The lock can be passed to a child (PassTo).
func TryAcquire(stateDir, key string) (*Lock, error) {
	path, err := create(stateDir, key)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return fileLock(path, f), nil
}

func fileLock(path string, f *os.File) *Lock {
	return &Lock{path: path, file: f, release: func() {
		// Unlocking, not merely closing: a process that shares the open file (the parent that
		// passed it, or a child of ours that inherited it by mistake) would keep it locked.
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}}
}

// PassTo makes cmd's process inherit l, and tells it which descriptor holds it through FDEnv.
// Once cmd has started, Close this process's handle: the child then holds the lock alone, and
// the OS releases it when the child ends.
func (l *Lock) PassTo(cmd *exec.Cmd) {
	if l.file == nil {
		panic("orglock: PassTo needs a lock from TryAcquire, which a child can inherit")
	}
	fd := 3 + len(cmd.ExtraFiles) // ExtraFiles[i] becomes descriptor 3+i in the child
	cmd.ExtraFiles = append(cmd.ExtraFiles, l.file)
	cmd.Env = append(cmd.Environ(), FDEnv+"="+strconv.Itoa(fd))
}

// Close closes this process's handle on l without unlocking it, for a child that shares it.
func (l *Lock) Close() { l.file.Close() }

var inherit struct {
	sync.Mutex
	claimed bool
	fd      int // the descriptor FDEnv named, once claimed; -1 for none or once taken
}

// Claim takes the descriptor of an inherited lock out of what this process passes on: FDEnv is
// read once and removed, so no process started later believes it holds the lock, and the
// descriptor is made close-on-exec. A descriptor a child inherits stays open across exec, and
// whatever this one is, it must not reach a browser or a git that could outlive this process
// and keep a lock. (Go opens all of its own descriptors close-on-exec, so this changes nothing
// for them.) The full program calls Claim first thing, before it could start any process;
// Inherited claims too, for a process that did not.
func Claim() {
	inherit.Lock()
	defer inherit.Unlock()
	claim()
}

func claim() {
	if inherit.claimed {
		return
	}
	inherit.claimed, inherit.fd = true, -1
	v, ok := os.LookupEnv(FDEnv)
	if !ok {
		return
	}
	os.Unsetenv(FDEnv)
	fd, err := strconv.Atoi(v)
	var st syscall.Stat_t
	if err != nil || fd < 3 || syscall.Fstat(fd, &st) != nil {
		return
	}
	syscall.CloseOnExec(fd)
	inherit.fd = fd
}

// Inherited returns key's lock if the process that started this one passed it on (PassTo), and
// nil otherwise; only its first call can return a lock. The descriptor is taken only if it is
// key's lock file and this process can hold the lock through it; one for another of the lock
// files is closed, and anything else is left open (a stray value may name a descriptor this
// process uses: Go's runtime keeps files open) but closed on exec.
func Inherited(stateDir, key string) *Lock {
	inherit.Lock()
	defer inherit.Unlock()
	claim()
	fd := inherit.fd
	inherit.fd = -1
	var st syscall.Stat_t
	if fd < 0 || syscall.Fstat(fd, &st) != nil {
		return nil
	}
	path := Path(stateDir, key)
	if !isFile(&st, path) {
		if isLockFile(&st, stateDir) {
			syscall.Close(fd)
		}
		return nil
	}
	// The parent's lock is this open file's, so this returns at once; should it not be held
	// after all, it is taken here if free, and left to the caller's bounded wait if not.
	if syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		syscall.Close(fd)
		return nil
	}
	return fileLock(path, os.NewFile(uintptr(fd), path))
}

// isFile reports whether st describes the file at path.
func isFile(st *syscall.Stat_t, path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	other, ok := fi.Sys().(*syscall.Stat_t)
	return ok && other.Dev == st.Dev && other.Ino == st.Ino
}

// isLockFile reports whether st describes one of the lock files in stateDir.
func isLockFile(st *syscall.Stat_t, stateDir string) bool {
	dir := lockDir(stateDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if isFile(st, filepath.Join(dir, e.Name())) {
			return true
		}
	}
	return false
}
