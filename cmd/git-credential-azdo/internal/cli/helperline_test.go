package cli

import (
	"reflect"
	"testing"
)

func TestShellFields(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"azdo", []string{"azdo"}},
		{"azdo --scope=vso.code --store=file", []string{"azdo", "--scope=vso.code", "--store=file"}},
		{"  azdo\t--trace  ", []string{"azdo", "--trace"}},
		{`'/opt/my tools/git-credential-azdo' '--scope=vso.code vso.packaging'`, []string{"/opt/my tools/git-credential-azdo", "--scope=vso.code vso.packaging"}},
		{`azdo '--ca-file=/tmp/it'\''s.pem'`, []string{"azdo", "--ca-file=/tmp/it's.pem"}},
		{`azdo "--scope=vso.code \"x\""`, []string{"azdo", `--scope=vso.code "x"`}},
		{`azdo --store-file=a\ b`, []string{"azdo", "--store-file=a b"}},
		{`azdo ''`, []string{"azdo", ""}},
		{"", nil},
	} {
		if got := shellFields(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("shellFields(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// What configure quotes, shellFields reads back.
func TestShellQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"plain", "with space", "it's", `back\slash`, "$HOME", "semi;colon", "--scope=vso.code vso.build", ""} {
		got := shellFields("azdo " + shellQuote(s))
		if len(got) != 2 || got[1] != s {
			t.Errorf("round trip of %q gave %q", s, got)
		}
	}
}
