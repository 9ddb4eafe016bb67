package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestFilePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits; Windows relies on the profile's ACLs")
	}
	root := testenv.TempDir(t)
	path := filepath.Join(root, "a", "b", "secrets")
	s, err := NewFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(root, "a"), filepath.Dir(path)} {
		if m := mode(t, d); m != 0o700 {
			t.Errorf("%s: mode %04o, want 0700", d, m)
		}
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("file mode %04o, want 0600", m)
	}
	if m := mode(t, path+".lock"); m != 0o600 {
		t.Errorf("lock file mode %04o, want 0600", m)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries, want the file and its lock (no temp files)", len(entries))
	}
	if !strings.Contains(s.Describe(), path) {
		t.Errorf("Describe = %q", s.Describe())
	}

	// Readable by others: refused by every call, with the fix in the message.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "k"); err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
		t.Errorf("Get on a 0644 file = %v", err)
	}
	if err := s.Set(ctx, "k", []byte("w")); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("Set on a 0644 file = %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "k"); err != nil || string(got) != "v" {
		t.Errorf("after chmod 600: %q, %v", got, err)
	}

	// A symlink is refused even when it points at a private file.
	link := filepath.Join(filepath.Dir(path), "link")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	linked, err := NewFile(link)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := linked.Get(ctx, "k"); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Get through a symlink = %v", err)
	}

	// A directory others can write is refused.
	open := filepath.Join(root, "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFile(filepath.Join(open, "s")); err == nil || !strings.Contains(err.Error(), "writable by other users") {
		t.Errorf("NewFile in a 0777 directory = %v", err)
	}
}

func TestFileCorrupt(t *testing.T) {
	path := filepath.Join(testenv.TempDir(t), "secrets")
	s, err := NewFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		"k\tdg==",              // cut short: the last line has no newline
		"k\tdg==\nk\tdg==\n",   // a key twice
		"k dg==\n",             // no tab
		"\tdg==\n",             // no key
		"k\x7f\tdg==\n",        // a control character in the key
		`{"k": "dg=="}` + "\n", // not this format at all
	} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		_, getErr := s.Get(ctx, "k")
		setErr := s.Set(ctx, "other", []byte("x"))
		for name, err := range map[string]error{"Get": getErr, "Set": setErr} {
			if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), path) {
				t.Errorf("%q: %s = %v, want ErrCorrupt naming the file", bad, name, err)
			}
		}
		if got, _ := os.ReadFile(path); string(got) != bad {
			t.Errorf("%q: the corrupt file was changed to %q", bad, got)
		}
	}
	// An empty file is an empty store.
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty file: Get = %v, want ErrNotFound", err)
	}
	// A value that is not base64: the entry is reported, the rest readable.
	if err := os.WriteFile(path, []byte("k\t!!!\nok\tdg==\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("bad entry: %v", err)
	}
	if got, err := s.Get(ctx, "ok"); err != nil || string(got) != "v" {
		t.Errorf("good entry: %q, %v", got, err)
	}
}

// TestFileConcurrentProcesses: 8 goroutines with a Store each (as separate
// processes would have) and 2 child processes write distinct keys into one
// file at the same time; none may be lost.
func TestFileConcurrentProcesses(t *testing.T) {
	path := filepath.Join(testenv.TempDir(t), "secrets")
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for c := 0; c < 2; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runChildErr("TestChildFileWriter", "STORE_TEST_FILE="+path, fmt.Sprintf("STORE_TEST_PREFIX=proc%d", c)); err != nil {
				errs <- err
			}
		}()
	}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := NewFile(path)
			if err != nil {
				errs <- err
				return
			}
			for i := 0; i < 20; i++ {
				if err := s.Set(ctx, fmt.Sprintf("g%d-%d", g, i), []byte{byte(g)}); err != nil {
					errs <- err
					return
				}
				// Readers take no lock: they must always see a whole file.
				if _, err := s.Get(ctx, fmt.Sprintf("g%d-%d", g, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s, err := NewFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for g := 0; g < 8; g++ {
		for i := 0; i < 20; i++ {
			if got, err := s.Get(ctx, fmt.Sprintf("g%d-%d", g, i)); err != nil || !bytes.Equal(got, []byte{byte(g)}) {
				t.Fatalf("g%d-%d: %v, %v", g, i, got, err)
			}
		}
	}
	for c := 0; c < 2; c++ {
		for i := 0; i < 20; i++ {
			if _, err := s.Get(ctx, fmt.Sprintf("proc%d-%d", c, i)); err != nil {
				t.Fatalf("key of child %d lost: %v", c, err)
			}
		}
	}
}

// TestFileFormat pins the file's lines: other tools and people read it, and a get reads it on
// every fetch.
func TestFileFormat(t *testing.T) {
	path := filepath.Join(testenv.TempDir(t), "secrets")
	s, err := NewFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for key, value := range map[string]string{"pat:dev.azure.com/b": "two\nlines", "msal:a": "", "pat:dev.azure.com/a/é": "\x00\xff"} {
		if err := s.Set(ctx, key, []byte(value)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "msal:a\t\npat:dev.azure.com/a/é\tAP8=\npat:dev.azure.com/b\tdHdvCmxpbmVz\n"
	if string(got) != want {
		t.Errorf("file holds %q, want %q", got, want)
	}
	if v, err := s.Get(ctx, "msal:a"); err != nil || len(v) != 0 {
		t.Errorf("empty value: %q, %v", v, err)
	}
	if err := s.Delete(ctx, "msal:a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "pat:dev.azure.com/a/é"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "pat:dev.azure.com/b\tdHdvCmxpbmVz\n" {
		t.Errorf("after deletes the file holds %q", got)
	}
}

// TestFileRemovesStaleTempCopies: a writer killed between writing its temporary copy and the
// rename leaves the copy, secrets and all. The next write, under the lock, removes exactly the
// copies of this file: not another file's, not a name that only looks alike, not a directory,
// and not a symbolic link (nor what it points at). RemoveTempCopies, for logout --all, does the
// same with nothing to write.
func TestFileRemovesStaleTempCopies(t *testing.T) {
	dir := testenv.TempDir(t)
	path := filepath.Join(dir, "secrets")
	s, err := NewFile(path)
	if err != nil {
		t.Fatal(err)
	}
	plant := func(name string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("k\tc3RhbGU=\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ours := []string{plant(".secrets.tmp-1"), plant(".secrets.tmp-4294967295")}
	kept := []string{
		plant(".secrets.tmp-"), plant(".secrets.tmp-12x"), plant(".secrets.tmp-1.bak"),
		plant("secrets.tmp-1"), plant(".tmp-1"), plant(".index.json.tmp-1"), plant(".secrets2.tmp-1"),
	}
	if err := os.Mkdir(filepath.Join(dir, ".secrets.tmp-2"), 0o700); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, filepath.Join(dir, ".secrets.tmp-2"))
	if runtime.GOOS != "windows" { // making a symbolic link there takes a privilege
		target := plant("target")
		if err := os.Symlink(target, filepath.Join(dir, ".secrets.tmp-3")); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, target, filepath.Join(dir, ".secrets.tmp-3"))
	}
	check := func(when string) {
		t.Helper()
		for _, p := range ours {
			if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: %s is still there (%v)", when, filepath.Base(p), err)
			}
		}
		for _, p := range kept {
			if _, err := os.Lstat(p); err != nil {
				t.Errorf("%s: %s was removed: %v", when, filepath.Base(p), err)
			}
		}
	}

	ctx := context.Background()
	if _, err := s.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get = %v", err)
	}
	for _, p := range ours {
		if _, err := os.Lstat(p); err != nil {
			t.Fatalf("a read, which takes no lock, removed %s: %v", filepath.Base(p), err)
		}
	}
	if err := s.Set(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	check("after a write")

	ours = []string{plant(".secrets.tmp-77")}
	if err := RemoveTempCopies(ctx, s); err != nil {
		t.Fatal(err)
	}
	check("after RemoveTempCopies")
	if got, err := s.Get(ctx, "k"); err != nil || string(got) != "v" {
		t.Errorf("RemoveTempCopies changed the store: %q, %v", got, err)
	}
}
