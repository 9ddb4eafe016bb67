package store_test

import (
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store/oskeyring"
)

// The store's tests use the programs' own go-keyring items, not a copy of them.
func init() { store.OSItems = oskeyring.Items{} }
