//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/statelock"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// nobody is the uid that owns the directories another local user planted (the tests run as
// root in CI, which may give files away).
const nobody = 65534

// TestHostileFileSystem plants what another local user could in the helper's state directory:
// FIFOs and symbolic links where its lock, index, journal and store files go, directories others
// may write and directories others own. Every get ends at once with one line naming the problem
// (or succeeds where the file is only a cache), and nothing is created or written outside.
func TestHostileFileSystem(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	fifo := func(path string) func(*testing.T) {
		return func(t *testing.T) {
			mkdirs(t, filepath.Dir(path))
			if err := syscall.Mkfifo(path, 0o666); err != nil {
				t.Fatal(err)
			}
		}
	}
	// link points path at a file outside the state directory, which must stay as it was.
	var outside string
	link := func(path string) func(*testing.T) {
		return func(t *testing.T) {
			mkdirs(t, filepath.Dir(path))
			if err := os.Symlink(filepath.Join(outside, "target"), path); err != nil {
				t.Fatal(err)
			}
		}
	}
	chmod := func(dir string, mode os.FileMode) func(*testing.T) {
		return func(t *testing.T) {
			mkdirs(t, dir)
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	chown := func(dir string) func(*testing.T) {
		return func(t *testing.T) {
			if os.Geteuid() != 0 {
				testenv.Missing(t, "root, to give a directory to another user (CI runs as root)")
			}
			mkdirs(t, dir)
			if err := os.Chown(dir, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}
	}

	var state string // the case's state directory, set before plant runs
	lockFile := func() string { return statelock.Path(state, w.recordKey()) }
	journal := func() string {
		return filepath.Join(state, "pending", statelock.FileStem(w.recordKey())+".json")
	}
	in := func(parts ...string) string { return filepath.Join(append([]string{state}, parts...)...) }
	tests := []struct {
		name  string
		plant func() func(*testing.T)
		// want is in the one error line; "" means the get may also succeed (a cache file the
		// helper does without), but must not write through the planted file.
		want string
		// replaced: the helper may rename its own file over the planted one, or remove it.
		replaced bool
	}{
		{"fifo lock", func() func(*testing.T) { return fifo(lockFile()) }, "is not a regular file", false},
		{"fifo store", func() func(*testing.T) { return fifo(in("credentials")) }, "is not a regular file", false},
		{"fifo store lock", func() func(*testing.T) { return fifo(in("credentials.lock")) }, "is not a regular file", false},
		{"fifo index", func() func(*testing.T) { return fifo(in("index.json")) }, "", false},
		{"fifo journal", func() func(*testing.T) { return fifo(journal()) }, "", true},
		{"symlink lock", func() func(*testing.T) { return link(lockFile()) }, "is a symbolic link", false},
		{"symlink store", func() func(*testing.T) { return link(in("credentials")) }, "is a symbolic link", false},
		{"symlink store lock", func() func(*testing.T) { return link(in("credentials.lock")) }, "is a symbolic link", false},
		{"symlink index", func() func(*testing.T) { return link(in("index.json")) }, "", false},
		{"symlink journal", func() func(*testing.T) { return link(journal()) }, "", true},
		{"world-writable state dir", func() func(*testing.T) { return chmod(state, 0o777) }, "writable by other users", false},
		{"group-writable lock dir", func() func(*testing.T) { return chmod(in("locks"), 0o770) }, "writable by other users", false},
		{"foreign state dir", func() func(*testing.T) { return chown(state) }, "belongs to user 65534", false},
		{"foreign lock dir", func() func(*testing.T) { return chown(in("locks")) }, "belongs to user 65534", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := testenv.TempDir(t)
			state, outside = filepath.Join(root, "state"), filepath.Join(root, "outside")
			mkdirs(t, outside)
			tc.plant()(t)
			before := tree(t, root)

			r := w.get("AZDO_STATE_DIR="+state, "AZDO_STORE=file")
			t.Logf("exit %d: %s", r.code, r.stderr)
			ok, problem := clearOutcome(t, r)
			if problem != "" {
				t.Fatalf("%s\nstderr: %s", problem, r.stderr)
			}
			if tc.want != "" && (ok || !strings.Contains(r.stderr, tc.want)) {
				t.Fatalf("exit %d, stderr %q: want one line saying %q", r.code, r.stderr, tc.want)
			}
			// What was planted is still there, untouched, and nothing appeared outside.
			after := tree(t, root)
			for path, mode := range before {
				if tc.replaced && path == journal() {
					continue
				}
				if after[path] != mode {
					t.Errorf("%s changed from %v to %v", path, mode, after[path])
				}
			}
			for path := range after {
				if strings.HasPrefix(path, outside) && before[path] == 0 {
					t.Errorf("%s was created outside the state directory", path)
				}
			}
		})
	}
}

// TestHostileIndex: status, which reads the index alone, refuses a planted FIFO there at once.
func TestHostileIndex(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	state := filepath.Join(testenv.TempDir(t), "state")
	mkdirs(t, state)
	index := filepath.Join(state, "index.json")
	if err := syscall.Mkfifo(index, 0o666); err != nil {
		t.Fatal(err)
	}
	r := w.azdo(nil, []string{"AZDO_STATE_DIR=" + state}, "status")
	if want := prog + ": " + index + " is not a regular file: refusing it: remove it\n"; r.code != 1 || r.stderr != want {
		t.Errorf("status: exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
	}
}

func mkdirs(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
}

// tree maps every path under root, not following symbolic links, to its type and permissions.
func tree(t *testing.T, root string) map[string]os.FileMode {
	t.Helper()
	m := map[string]os.FileMode{}
	err := filepath.Walk(root, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		m[path] = fi.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
