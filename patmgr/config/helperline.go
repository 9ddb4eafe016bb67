package config

import (
	"path/filepath"
	"strings"

	"github.com/kballard/go-shellquote"
)

// HelperArgs returns the settings on a git helper line (a credential.helper value) when the line
// runs this helper, and ok=false when it runs another. git runs a line as "git credential-LINE"
// unless it is an absolute path or, after "!", a shell command: so this helper's lines are its
// short name "azdo", an absolute path to git-credential-azdo, and a shell command running one of
// those, as configure writes a path that needs quoting.
func HelperArgs(line string) (args []string, ok bool) {
	// The shell git hands the line to reads the words; shellquote reads them as it does.
	fields, err := shellquote.Split(line)
	if err != nil || len(fields) == 0 {
		return nil, false
	}
	run, shell := strings.CutPrefix(fields[0], "!")
	switch name := strings.TrimSuffix(filepath.Base(run), ".exe"); {
	case !shell && run == "azdo":
	case name != "git-credential-azdo":
		return nil, false
	case !shell && !isAbsolute(run):
		return nil, false
	}
	return fields[1:], true
}

// isAbsolute is git's test of an absolute path, on every system: /x, or a drive as in C:/x.
func isAbsolute(p string) bool {
	return strings.HasPrefix(p, "/") || len(p) >= 3 && p[1] == ':' && (p[2] == '/' || p[2] == '\\')
}
