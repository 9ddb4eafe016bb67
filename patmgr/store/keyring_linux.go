package store

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	dbus "github.com/godbus/dbus/v5"
)

// runUserDir is where systemd puts per-user runtime directories (a variable so
// tests can simulate a machine without a session bus).
var runUserDir = "/run/user"

func keyringName() string { return "Secret Service (keyring)" }

// preflight makes sure a session bus exists before go-keyring is called.
// Without DBUS_SESSION_BUS_ADDRESS godbus looks only at /run/user/<uid>/bus
// and otherwise runs dbus-launch, which starts a new bus (and possibly X11
// autolaunch) that can hang or linger. We never want that from a credential
// helper, so: use the address if set; else use $XDG_RUNTIME_DIR/bus or
// /run/user/<uid>/bus if one is a socket, publishing it in the environment
// (as godbus itself does) so godbus connects there; else fail at once.
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
			_ = os.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+escapeBusValue(p))
			return nil
		}
	}
	return fmt.Errorf("%w [DBUS_SESSION_BUS_ADDRESS is not set and there is no session bus socket at %s]",
		ErrUnavailable, strings.Join(candidates, " or "))
}

// D-Bus names of the Secret Service API and the errors we tell apart.
const (
	ssName            = "org.freedesktop.secrets"
	ssPath            = "/org/freedesktop/secrets"
	ssLoginCollection = "/org/freedesktop/secrets/collection/login"
	ssDefaultAlias    = "/org/freedesktop/secrets/aliases/default"

	errServiceUnknown = "org.freedesktop.DBus.Error.ServiceUnknown"
	errNameHasNoOwner = "org.freedesktop.DBus.Error.NameHasNoOwner"
	errUnknownObject  = "org.freedesktop.DBus.Error.UnknownObject"
	errUnknownMethod  = "org.freedesktop.DBus.Error.UnknownMethod"
	errNoSuchObject   = "org.freedesktop.Secret.Error.NoSuchObject"
	errIsLocked       = "org.freedesktop.Secret.Error.IsLocked"
	errNoSession      = "org.freedesktop.Secret.Error.NoSession"
)

func dbusErrName(err error) string {
	if name := busErrName(err); name != "" {
		return name
	}
	var de dbus.Error
	if errors.As(err, &de) {
		return de.Name
	}
	var dp *dbus.Error
	if errors.As(err, &dp) && dp != nil {
		return dp.Name
	}
	return ""
}

// mapPlatformErr recognises "no Secret Service" and "locked" in the errors
// of godbus and go-keyring (which returns them unwrapped, often as text).
func mapPlatformErr(err error) error {
	name := dbusErrName(err)
	msg := err.Error()
	switch {
	case name == errServiceUnknown || name == errNameHasNoOwner ||
		strings.Contains(msg, "was not provided by any .service files"):
		return fmt.Errorf("%w [%w]", ErrUnavailable, err)
	case name == errIsLocked ||
		// go-keyring's text when an unlock prompt was dismissed or failed.
		strings.Contains(msg, "failed to unlock correct collection"):
		return fmt.Errorf("%w [%w]", ErrLocked, err)
	}
	// No bus at the address (socket gone, refused): same as no service.
	var ne *net.OpError
	if errors.As(err, &ne) || errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%w [%w]", ErrUnavailable, err)
	}
	return nil
}
