package config

import (
	"os"
	"path/filepath"
	"runtime"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// KeyringService is the service name of every item the helper keeps in the OS keyring.
const KeyringService = "git-credential-azdo"

// OpenStore opens the secret store cfg names. The file store is never chosen unless asked for.
// It resolves the state directory only for the file store's default path: a keyring get needs
// none.
func OpenStore(cfg *Config) (store.Store, error) {
	if cfg.Store == "file" {
		path := cfg.StoreFile
		if path == "" {
			if err := cfg.ResolveStateDir(); err != nil {
				return nil, err
			}
			path = filepath.Join(cfg.StateDir, "credentials")
		}
		return store.NewFile(path)
	}
	return store.NewKeyring(KeyringService, cfg.KeyringTimeout), nil
}

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
