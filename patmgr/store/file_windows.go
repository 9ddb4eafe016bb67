package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// createTemp makes a new file, named prefix and decimal digits, in dir, that only the current user
// may open: it is created with a protected DACL (privateFileSD) rather than given one afterwards,
// so it is never open to anyone else, whatever its directory's ACL would pass on.
func createTemp(dir, prefix string) (*os.File, error) {
	sd, err := privateFileSD()
	if err != nil {
		return nil, fmt.Errorf("making a private file in %s: %w", dir, err)
	}
	sa := windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}
	for try := 0; ; try++ {
		path := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10))
		name, err := windows.UTF16PtrFromString(path)
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		h, err := windows.CreateFile(name, windows.GENERIC_READ|windows.GENERIC_WRITE, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE,
			&sa, windows.CREATE_NEW, windows.FILE_ATTRIBUTE_NORMAL, 0)
		if errors.Is(err, windows.ERROR_FILE_EXISTS) && try < 100 {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return os.NewFile(uintptr(h), path), nil
	}
}

// privateFileSD is a security descriptor whose DACL grants the current user full access and no
// one else any, and is protected: no ACE is inherited from the directory.
func privateFileSD() (*windows.SECURITY_DESCRIPTOR, error) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("reading the current user's SID: %w", err)
	}
	return windows.SecurityDescriptorFromString("D:P(A;;FA;;;" + user.User.Sid.String() + ")")
}

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
		if !errors.Is(err, syscall.ERROR_ACCESS_DENIED) && !errors.Is(err, errSharingViolation) || wait > time.Second {
			return err
		}
		time.Sleep(wait)
	}
}
