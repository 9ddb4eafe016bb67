package config

import (
	"os"
	"path/filepath"
	"runtime"
)

// KeyringService is the service name of every item the helper keeps in the OS keyring.
const KeyringService = "git-credential-azdo"

// ResolveStateDir sets StateDir to DefaultStateDir if it is empty.
func (c *Config) ResolveStateDir() error {
	if c.StateDir != "" {
		return nil
	}
	dir, err := DefaultStateDir()
	c.StateDir = dir
	return err
}

// DefaultStateDir is where locks and the index live, and the file store when it is chosen.
func DefaultStateDir() (string, error) {
	if runtime.GOOS == "linux" {
		if d := os.Getenv("XDG_STATE_HOME"); d != "" {
			return filepath.Join(d, "git-credential-azdo"), nil
		}
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, ".local", "state", "git-credential-azdo"), nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "git-credential-azdo"), nil
}
