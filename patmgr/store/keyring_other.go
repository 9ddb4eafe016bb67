//go:build !linux

package store

import (
	"fmt"
	"runtime"
)

func keyringName() string {
	switch runtime.GOOS {
	case "darwin":
		return "macOS Keychain (keyring)"
	case "windows":
		return "Windows Credential Manager (keyring)"
	}
	return "system keyring"
}

// preflight: only Linux needs a session bus; elsewhere the keyring is part of the OS.
func preflight() error { return nil }

func mapPlatformErr(err error) error { return fmt.Errorf("keyring: %w", err) }

// readQuickly: go-keyring's Get is the only read elsewhere.
func readQuickly(service, user string) (string, bool) { return "", false }
