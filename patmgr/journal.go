package patmgr

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/statelock"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// pendingCreates is the file, one per store key, of the display names of PATs that may exist and
// must not: creates whose outcome is not known yet, and replaced PATs not yet revoked. It holds
// no secret, and is only touched under the key's lock.
type pendingCreates struct{ path string }

func (m *Manager) pending(key string) pendingCreates {
	return pendingCreates{path: filepath.Join(m.cfg.StateDir, "pending", statelock.FileStem(key)+".json")}
}

// ownName matches the names displayName makes: the journal is trusted for nothing else.
var ownName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^` + DisplayNamePrefix + ` .*\([0-9a-f]{8}\)$`)
})

// names reads the journal. One that cannot be read is an error, not an empty journal: the names
// it holds would be lost, and a create could follow an unsettled one.
func (p pendingCreates) names() (map[string]bool, error) {
	out := map[string]bool{}
	var list []string
	b, err := store.ReadPrivate(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &list)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the names of unconfirmed PATs in %s: %w (remove the file once 'git-credential-azdo list ORG' shows no stray PAT)", p.path, err)
	}
	for _, n := range list {
		if ownName().MatchString(n) {
			out[n] = true
		}
	}
	return out, nil
}

func (p pendingCreates) write(names map[string]bool) error {
	if len(names) == 0 {
		if err := os.Remove(p.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	b, err := json.Marshal(slices.Sorted(maps.Keys(names)))
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(p.path, b)
}

func (p pendingCreates) add(name string) error {
	names, err := p.names()
	if err != nil {
		return err
	}
	names[name] = true
	return p.write(names)
}

// remove crosses name out; a journal it cannot read stays as it is.
func (p pendingCreates) remove(name string) {
	if names, err := p.names(); err == nil {
		delete(names, name)
		_ = p.write(names)
	}
}

func (p pendingCreates) clear() { _ = p.write(nil) }
