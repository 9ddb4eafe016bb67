package patmgr

import (
	"path/filepath"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// openStore opens the secret store cfg names. The file store is never chosen unless asked for.
// It resolves the state directory only for the file store's default path: a keyring get needs
// none.
func openStore(cfg *config.Config) (store.Store, error) {
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
	return store.NewKeyring(config.KeyringService, cfg.KeyringTimeout), nil
}
