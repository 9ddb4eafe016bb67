package cli

import (
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
)

// What configure quotes, config.HelperArgs reads back.
func TestShellQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"plain", "with space", "it's", `back\slash`, "$HOME", "semi;colon", "--scope=vso.code vso.build", ""} {
		got, ours := config.HelperArgs("azdo " + shellQuote(s))
		if !ours || len(got) != 1 || got[0] != s {
			t.Errorf("round trip of %q gave %q", s, got)
		}
	}
}
