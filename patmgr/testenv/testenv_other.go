//go:build !windows

package testenv

import "testing"

func underWine() bool { return false }

// cleanup: t.TempDir's own removal works everywhere but on Windows under Wine.
func cleanup(testing.TB, string) {}
