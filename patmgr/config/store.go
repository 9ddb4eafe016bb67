package config

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeyringService is the service name of every item the helper keeps in the OS keyring.
const KeyringService = "git-credential-azdo"

// AbsPath is the path given to setting (a flag name) with a leading ~/ expanded to the home
// directory; "" stays "". A relative path is refused: git runs the helper in whichever
// repository it works in, so a relative one would put the helper's files in each of them.
func AbsPath(setting, path string) (string, error) {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("--%s %q: %w", setting, path, err)
		}
		path = filepath.Join(home, rest)
	}
	if path != "" && !filepath.IsAbs(path) {
		return "", fmt.Errorf("--%s (%s) %q is not an absolute path: give one, or one starting with ~/", setting, EnvName(setting), path)
	}
	return path, nil
}

// ResolveStateDir sets StateDir to DefaultStateDir if it is empty, and refuses a relative one.
func (c *Config) ResolveStateDir() (err error) {
	if c.StateDir != "" {
		c.StateDir, err = AbsPath("state-dir", c.StateDir)
	} else {
		c.StateDir, err = DefaultStateDir()
	}
	return err
}

// DefaultStateDir is where locks and the index live, and the file store when it is chosen.
func DefaultStateDir() (string, error) {
	var base string
	var err error
	switch xdg := os.Getenv("XDG_STATE_HOME"); {
	case runtime.GOOS != "linux":
		base, err = os.UserCacheDir()
	case filepath.IsAbs(xdg): // the XDG spec says a relative path there is to be ignored
		base = xdg
	default:
		base, err = os.UserHomeDir()
		base = filepath.Join(base, ".local", "state")
	}
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, "git-credential-azdo")
	if !filepath.IsAbs(dir) {
		return dir, fmt.Errorf("the default state directory %q is not an absolute path: set HOME to one, or give --state-dir", dir)
	}
	return dir, nil
}
