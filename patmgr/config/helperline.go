package config

import (
	"path/filepath"
	"strings"
)

// HelperArgs returns the settings on a git helper line (a credential.helper value) when the line
// runs this helper, and ok=false when it runs another: git's short name "azdo", or a path to
// git-credential-azdo (or the full program), as configure writes it, perhaps as a "!" shell
// command.
func HelperArgs(line string) (args []string, ok bool) {
	fields := shellFields(strings.TrimSpace(line))
	if len(fields) == 0 {
		return nil, false
	}
	run := strings.TrimPrefix(fields[0], "!")
	if run != "azdo" && !strings.HasPrefix(filepath.Base(run), "git-credential-azdo") {
		return nil, false
	}
	return fields[1:], true
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
