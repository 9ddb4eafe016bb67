package patmgr

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/statelock"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// pendingCreates is the file, one per store key, of the display names of PATs that may exist and
// must not: creates whose outcome is not known yet, and replaced PATs not yet revoked. It holds
// no secret, and is only touched under the key's lock.
type pendingCreates struct{ path string }

func (m *Manager) pending(key string) pendingCreates {
	return pendingCreates{path: filepath.Join(m.cfg.StateDir, "pending", strings.TrimSuffix(statelock.Name(key), ".lock")+".json")}
}

// ownName matches the names displayName makes: the journal is trusted for nothing else.
var ownName = regexp.MustCompile(`^` + DisplayNamePrefix + ` .*\([0-9a-f]{8}\)$`)

func (p pendingCreates) names() map[string]bool {
	out := map[string]bool{}
	var list []string
	if b, err := store.ReadPrivate(p.path); err != nil || json.Unmarshal(b, &list) != nil {
		return out
	}
	for _, n := range list {
		if ownName.MatchString(n) {
			out[n] = true
		}
	}
	return out
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
	names := p.names()
	names[name] = true
	return p.write(names)
}

func (p pendingCreates) remove(name string) {
	names := p.names()
	delete(names, name)
	_ = p.write(names)
}

func (p pendingCreates) clear() { _ = p.write(nil) }
