// Package testdir makes a test's temporary directories.
package testdir

import "testing"

// New is t.TempDir, with a removal Wine supports: Wine's file API lacks the POSIX-semantics delete
// that os.RemoveAll uses on Windows, so there t.TempDir's own cleanup fails the test. On Windows
// New removes the tree first, file by file, and reports what it could not remove.
func New(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	cleanup(t, dir)
	return dir
}
