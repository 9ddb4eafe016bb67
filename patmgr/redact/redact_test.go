package redact

import (
	"strings"
	"testing"
)

func TestLine(t *testing.T) {
	Hide("s3cr3t-pat-0123456789")
	Hide("short") // too short to mask
	jwtText := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "HTTP 500 from dev.azure.com", "HTTP 500 from dev.azure.com"},
		{"lines join", "first\r\nsecond\n\tthird\n", "first second third"},
		{"escape sequences lose their ESC", "\x1b[2J\x1b]0;pwned\x07red", "[2J]0;pwnedred"},
		{"C1 controls (NEL is a line break)", "a\u0085b\u009bc", "a bc"},
		{"bidi override", "evil\u202egnp.exe", "evilgnp.exe"},
		{"invalid UTF-8", "a\xffb", "ab"},
		{"registered secret", "bad token s3cr3t-pat-0123456789 refused", "bad token [REDACTED] refused"},
		{"secret split by an escape", "s3cr3t-pat-\x1b01234\x0756789", "[REDACTED]"},
		{"unregistered JWT", "Authorization: Bearer " + jwtText, "Authorization: Bearer [REDACTED]"},
		{"short strings stay", "short", "short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Line(tc.in); got != tc.want {
				t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestLineIsCut(t *testing.T) {
	got := Line(strings.Repeat("é", MaxLine+50))
	if want := strings.Repeat("é", MaxLine) + "…"; got != want {
		t.Errorf("Line of %d runes = %d runes, want %d", MaxLine+50, len([]rune(got)), MaxLine+1)
	}
}

func FuzzLine(f *testing.F) {
	f.Add("\x1b[31mred\n\u202e")
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range Line(s) {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("Line(%q) kept control %U", s, r)
			}
		}
	})
}
