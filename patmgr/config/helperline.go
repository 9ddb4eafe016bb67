package config

import (
	"path/filepath"
	"strings"
)

// HelperArgs returns the settings on a git helper line (a credential.helper value) when the line
// runs this helper, and ok=false when it runs another. git runs a line as "git credential-LINE"
// unless it is an absolute path or, after "!", a shell command: so this helper's lines are its
// short name "azdo", an absolute path to git-credential-azdo, and a shell command running one of
// those, as configure writes a path that needs quoting.
func HelperArgs(line string) (args []string, ok bool) {
	fields := shellFields(strings.TrimSpace(line))
	if len(fields) == 0 {
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

// shellFields splits a helper line as the shell git hands it to would, for the quoting
// configure writes: single quotes, double quotes and backslashes.
func shellFields(s string) []string {
	var fields []string
	var cur strings.Builder
	inField, single, double := false, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case single:
			if c == '\'' {
				single = false
			} else {
				cur.WriteByte(c)
			}
		case double:
			switch {
			case c == '"':
				double = false
			case c == '\\' && i+1 < len(s) && strings.IndexByte(`"\$`+"`", s[i+1]) >= 0:
				i++
				cur.WriteByte(s[i])
			default:
				cur.WriteByte(c)
			}
		case c == '\'':
			single, inField = true, true
		case c == '"':
			double, inField = true, true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inField = true
		case c == ' ' || c == '\t':
			if inField {
				fields = append(fields, cur.String())
				cur.Reset()
				inField = false
			}
		default:
			cur.WriteByte(c)
			inField = true
		}
	}
	if inField {
		fields = append(fields, cur.String())
	}
	return fields
}
