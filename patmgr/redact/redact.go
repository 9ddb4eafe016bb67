// Package redact keeps secrets and terminal control out of what the helper prints. Every token
// this process handles is registered with Hide; Line then makes any text (a server's error
// message, a device-code prompt, a trace line) safe for one line of a terminal.
package redact

import (
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// MaxLine bounds a line from Line, in runes: a server may answer with a whole HTML page.
const MaxLine = 400

// Mask stands where a secret was.
const Mask = "[REDACTED]"

var secrets struct {
	sync.Mutex
	list []string
}

// Hide registers a secret (a PAT, an access or refresh token) to mask from every later Line.
// Strings too short to be a secret are ignored, as masking them would mangle ordinary words.
func Hide(secret string) {
	if len(secret) < 8 {
		return
	}
	secrets.Lock()
	defer secrets.Unlock()
	if !slices.Contains(secrets.list, secret) {
		secrets.list = append(secrets.list, secret)
	}
}

// jwt matches a JSON Web Token even when it was never handed to Hide (a server echoing a header
// back): every access token Entra issues is one, and nothing else the helper prints looks like it.
// Like the program's other patterns, it is compiled when first used, not by every run at start: a
// get served from the store prints nothing.
var jwt = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)
})

// Line returns text as one printable line: line breaks and tabs become spaces, control and
// format characters (ESC, BEL, bidirectional overrides) and invalid UTF-8 are dropped, every
// registered secret and anything shaped like a token is masked, and the result is cut to MaxLine
// runes. Secrets are masked after control characters go, so one cannot hide a secret by
// splitting it with an escape.
func Line(text string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(text, "") {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	line := scrub(b.String())
	if runes := []rune(line); len(runes) > MaxLine {
		line = string(runes[:MaxLine]) + "…"
	}
	return line
}

// scrub masks the registered secrets and token-shaped text.
func scrub(text string) string {
	secrets.Lock()
	list := secrets.list
	secrets.Unlock()
	for _, s := range list {
		text = strings.ReplaceAll(text, s, Mask)
	}
	return jwt().ReplaceAllString(text, Mask)
}
