package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	dbus "github.com/godbus/dbus/v5"
)

// runUserDir is where systemd puts per-user runtime directories (a variable so tests can
// simulate a machine without a session bus).
var runUserDir = "/run/user"

func keyringName() string { return "Secret Service (keyring)" }

// preflight makes sure a session bus exists before go-keyring is called. Without
// DBUS_SESSION_BUS_ADDRESS, godbus looks for a bus socket in the runtime directory and
// otherwise runs dbus-launch, which starts a bus (and possibly X11 autolaunch) that can hang or
// outlive the helper. So: use the address if set; else use $XDG_RUNTIME_DIR/bus or
// /run/user/<uid>/bus if one is a socket, publishing it (as godbus itself does); else fail at once.
func preflight() error {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return nil
	}
	var candidates []string
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		candidates = append(candidates, filepath.Join(d, "bus"))
	}
	candidates = append(candidates, filepath.Join(runUserDir, strconv.Itoa(os.Getuid()), "bus"))
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return os.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+dbus.EscapeBusAddressValue(p))
		}
	}
	return fmt.Errorf("%w [DBUS_SESSION_BUS_ADDRESS is not set and there is no session bus socket at %s]",
		ErrUnavailable, strings.Join(candidates, " or "))
}

// mapPlatformErr recognises "no Secret Service", "locked" and "went away" in the errors of
// godbus (D-Bus error names) and go-keyring (text).
func mapPlatformErr(err error) error {
	var name string
	var de dbus.Error
	var dp *dbus.Error
	switch {
	case errors.As(err, &de):
		name = de.Name
	case errors.As(err, &dp) && dp != nil:
		name = dp.Name
	}
	switch {
	case name == "org.freedesktop.DBus.Error.ServiceUnknown", name == "org.freedesktop.DBus.Error.NameHasNoOwner",
		errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w [%w]", ErrUnavailable, err)
	case name == "org.freedesktop.Secret.Error.IsLocked",
		strings.Contains(err.Error(), "failed to unlock correct collection"): // a dismissed or failed prompt
		return fmt.Errorf("%w [%w]", ErrLocked, err)
	case name == "org.freedesktop.DBus.Error.NoReply" && strings.Contains(err.Error(), "disconnected"),
		// The session the call opened a moment before is gone with the service that opened it.
		name == "org.freedesktop.Secret.Error.NoSession":
		return fmt.Errorf("%w [%w]", errVanished, err)
	}
	return fmt.Errorf("keyring: %w", err)
}
