package patmgr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/statelock"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// index is a file of records without their secrets: which organisations this tool holds a PAT
// for, with which account, tenant and expiry. It lets status run without unlocking the keyring,
// and remembers an organisation's tenant and account after its PAT is gone.
type index struct{ dir string }

func (ix index) path() string { return filepath.Join(ix.dir, "index.json") }

func (ix index) load() (map[string]cache.Record, error) {
	if err := store.CheckDir(ix.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	b, err := store.ReadPrivate(ix.path())
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]cache.Record{}, nil
	}
	if err != nil {
		return nil, err
	}
	m := map[string]cache.Record{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s is unreadable (%v): delete it, it holds no secret", ix.path(), err)
	}
	return m, nil
}

// update applies fn to the index under its own lock and replaces the file atomically.
func (ix index) update(ctx context.Context, fn func(map[string]cache.Record)) error {
	l, err := statelock.Acquire(ctx, ix.dir, "index")
	if err != nil {
		return err
	}
	defer l.Unlock()
	m, err := ix.load()
	if err != nil {
		return err
	}
	fn(m)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(ix.path(), b)
}

func (ix index) put(ctx context.Context, key string, r cache.Record) error {
	return ix.update(ctx, func(m map[string]cache.Record) { m[key] = r.Public() })
}

func (ix index) drop(ctx context.Context, key string) error {
	return ix.update(ctx, func(m map[string]cache.Record) { delete(m, key) })
}
