// Package testenv adapts tests to the platform they run on: temporary directories Wine can
// remove, and skips, by name, of tests that need what a Windows test run does not have.
package testenv

import (
	"runtime"
	"testing"
)

// TempDir is t.TempDir, with a removal Wine supports: Wine's file API lacks the POSIX-semantics
// delete that os.RemoveAll uses on Windows, so there t.TempDir's own cleanup fails the test. On
// Windows TempDir removes the tree first, file by file, and reports what it could not remove.
func TempDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	cleanup(t, dir)
	return dir
}

// SkipOnWindows skips t on Windows, where the Windows test run (under Wine in CI) lacks what it
// needs, named by missing: "git (Git for Windows)", "sh", "Unix signals".
func SkipOnWindows(t testing.TB, missing string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skipf("needs %s, which the Windows test run does not have", missing)
	}
}

// SkipUnderWine skips t when it runs under Wine, which cannot run it for the reason why.
func SkipUnderWine(t testing.TB, why string) {
	t.Helper()
	if underWine() {
		t.Skipf("cannot run under Wine: %s", why)
	}
}
