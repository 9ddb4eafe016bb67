package cli

import (
	"strings"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/keyringtest"
)

// TestDoctorOnABrokenKeyring runs doctor where the keyring does not answer and where there is
// none: it names the fixes, and never sends the user to doctor.
func TestDoctorOnABrokenKeyring(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	for name, env := range map[string][]string{
		"never answers":              {"DBUS_SESSION_BUS_ADDRESS=" + silentBus(t), "AZDO_KEYRING_TIMEOUT=1s"},
		"bus without Secret Service": {"DBUS_SESSION_BUS_ADDRESS=" + keyringtest.BareBus(t), hangOnly},
	} {
		r := w.run("", env, prog, "doctor")
		if r.err == nil || !strings.Contains(r.stdout, "FAIL secret store: ") {
			t.Errorf("%s: doctor = %v, want the secret store failing:\n%s", name, r.err, r.stdout)
		}
		if strings.Contains(r.stdout+r.stderr, prog+" doctor") {
			t.Errorf("%s: doctor tells the user to run doctor:\n%s%s", name, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, "fix: start or unlock the keyring") || !strings.Contains(r.stdout, prog+" configure --store=file") {
			t.Errorf("%s: doctor names no fix:\n%s", name, r.stdout)
		}
	}
	// git's get names both ways on when there is no Secret Service.
	r := w.get("DBUS_SESSION_BUS_ADDRESS="+keyringtest.BareBus(t), hangOnly)
	for _, want := range []string{"git-credential-azdo configure --store=file", "AZDO_STORE=file", "dbus-run-session -- bash", "gnome-keyring-daemon --unlock"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("no-Secret-Service message lacks %q: %s", want, r.stderr)
		}
	}
}
