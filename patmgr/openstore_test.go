package patmgr

import (
	"runtime"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
)

// A keyring get needs no state directory, so it works where no home directory is known
// (systemd units, env -i); the file store's default path needs one.
func TestOpenStoreResolvesTheStateDirOnlyForTheFileStore(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the default state directory comes from LocalAppData there, not from HOME")
	}
	t.Setenv("HOME", "")
	t.Setenv("XDG_STATE_HOME", "")
	cfg := config.Defaults()
	if _, err := openStore(&cfg); err != nil || cfg.StateDir != "" {
		t.Fatalf("keyring: %v, state dir %q", err, cfg.StateDir)
	}
	cfg.Store = "file"
	if _, err := openStore(&cfg); err == nil {
		t.Fatal("file store with no home directory and no --state-dir: no error")
	}
}
