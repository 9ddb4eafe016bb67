package patmgr

import (
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
)

// The command a message tells the user to run reaches the same service, sign-in and store as
// the one that failed: every setting off its default, in flag order, quoted for any shell; the
// way of signing in, the user name, tracing and the timeout stay the new command's own.
func TestCommandLineCarriesTheSettings(t *testing.T) {
	custom := config.Defaults()
	custom.ServiceURL, custom.Store, custom.Scope = "https://azdo.example", "file", "vso.code vso.build"
	custom.Login, custom.Username, custom.Trace = config.LoginPassword, "ada@example.com", true
	def := config.Defaults()
	for _, tc := range []struct {
		cfg  config.Config
		args []string
		want string
	}{
		{def, []string{"contoso"}, "git-credential-azdo login contoso"},
		{def, []string{"--device", "contoso"}, "git-credential-azdo login --device contoso"},
		{custom, []string{"contoso"}, `git-credential-azdo login contoso --scope="vso.code vso.build" --service-url=https://azdo.example --store=file`},
	} {
		if got := signInCommand(&tc.cfg, tc.args...); got != tc.want {
			t.Errorf("signInCommand(%v) =\n%s\nwant\n%s", tc.args, got, tc.want)
		}
	}
}
