//go:build !windows

package testenv

import "testing"

// UnderWine reports whether this program runs under Wine, which only a Windows build can.
func UnderWine() bool { return false }

// cleanup: t.TempDir's own removal works everywhere but on Windows under Wine.
func cleanup(testing.TB, string) {}
