package patmgr

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sort"
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
	b, err := store.ReadPrivate(p.path)
	if err != nil {
		return nil
	}
	var list []string
	if json.Unmarshal(b, &list) != nil {
		return nil
	}
	out := make(map[string]bool, len(list))
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
	list := make([]string, 0, len(names))
	for n := range names {
		list = append(list, n)
	}
	sort.Strings(list)
	b, err := json.Marshal(list)
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(p.path, b)
}

func (p pendingCreates) add(name string) error {
	names := p.names()
	if names == nil {
		names = map[string]bool{}
	}
	names[name] = true
	return p.write(names)
}

func (p pendingCreates) remove(name string) {
	names := p.names()
	delete(names, name)
	_ = p.write(names)
}

func (p pendingCreates) clear() { _ = p.write(nil) }
