//go:build !linux

package store

import (
	"context"
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

// directGet exists only on Linux; ok=false sends every read to Keyring.Items.
func directGet(context.Context, string, string) (string, bool, error) { return "", false, nil }
