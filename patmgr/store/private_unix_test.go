//go:build unix

package store

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

func TestOpenPrivateRefusesPlantedFiles(t *testing.T) {
	dir := testenv.TempDir(t)
	fifo, link, target := filepath.Join(dir, "fifo"), filepath.Join(dir, "link"), filepath.Join(dir, "target")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		flag int
		want string
	}{
		{fifo, os.O_RDONLY, "not a regular file"},
		{fifo, os.O_WRONLY | os.O_CREATE, "not a regular file"}, // nobody reads it: ENXIO
		{fifo, os.O_RDWR, "not a regular file"},
		{link, os.O_RDONLY | os.O_CREATE, "symbolic link"},
		{link, os.O_WRONLY | os.O_CREATE, "symbolic link"},
		{dir, os.O_RDONLY, "not a regular file"},
	} {
		if f, err := OpenPrivate(c.path, c.flag); err == nil || !strings.Contains(err.Error(), c.want) {
			if f != nil {
				f.Close()
			}
			t.Errorf("OpenPrivate(%s, %#o) = %v, want an error saying %q", filepath.Base(c.path), c.flag, err, c.want)
		}
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("the link's target was created: %v", err)
	}
	f, err := OpenPrivate(filepath.Join(dir, "new"), os.O_CREATE|os.O_WRONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("a new file has mode %v, want 0600", fi.Mode())
	}
}

func TestCheckDir(t *testing.T) {
	dir := testenv.TempDir(t)
	if err := MkdirPrivate(filepath.Join(dir, "a", "b")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o757); err != nil {
		t.Fatal(err)
	}
	if err := CheckDir(dir); err == nil || !strings.Contains(err.Error(), "writable by other users") {
		t.Errorf("a directory others may write: %v", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if err := CheckDir(dir); err == nil || !strings.Contains(err.Error(), "belongs to user 65534") {
			t.Errorf("a directory another user owns: %v", err)
		}
	}
}
