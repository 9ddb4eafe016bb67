//go:build !windows

package keyringtest

// nativeSession: only Windows has a keyring that needs no session of its own.
func nativeSession(string) *Session { return nil }
