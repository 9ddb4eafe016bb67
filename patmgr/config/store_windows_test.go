package config

import (
	"path/filepath"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// TestStateDirIsUnderLocalAppData: on Windows the state (locks, index, file store) belongs in the
// user's local, non-roaming application data, not in a roaming profile or beside the program.
func TestStateDirIsUnderLocalAppData(t *testing.T) {
	local := testenv.TempDir(t)
	t.Setenv("LOCALAPPDATA", local)
	got, err := DefaultStateDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(local, "git-credential-azdo"); got != want {
		t.Errorf("DefaultStateDir() = %s, want %s", got, want)
	}
}
