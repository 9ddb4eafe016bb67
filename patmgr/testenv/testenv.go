// Package testenv adapts tests to where they run: temporary directories Wine can remove, skips,
// by name, of tests that need what a Windows test run does not have, and the one test of whether
// the run is CI's, where a missing tool fails a test instead of skipping it.
package testenv

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
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
	if UnderWine() {
		t.Skipf("cannot run under Wine: %s", why)
	}
}

// CI reports whether the tests run in CI (CI=true, or another true value strconv.ParseBool
// reads), which must run every test.
func CI() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// Missing ends t for want of what it needs, named by what: it fails t in CI and skips it
// elsewhere.
func Missing(t testing.TB, what string) {
	t.Helper()
	if CI() {
		t.Fatalf("%s (CI=true: this test must run)", what)
	}
	t.Skip(what)
}

// NeedTool returns the path of the program name, found on PATH; without it, Missing ends t,
// naming the program and why (what needs it, or how to install it).
func NeedTool(t testing.TB, name, why string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed ("+why+"): "+err.Error())
	}
	return path
}
