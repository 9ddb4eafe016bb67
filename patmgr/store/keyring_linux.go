package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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
	// errNoReply with "disconnected" in its message: the callee left the bus before answering.
	errNoReply = "org.freedesktop.DBus.Error.NoReply"
)

// MapSecretServiceError turns a failure to read or write the Secret Service
// into this package's sentinels (ErrNotFound, ErrUnavailable, ErrLocked),
// keeping the original in the chain for diagnosis. dbusName is the D-Bus
// error name err carries, if any. Both the direct reader and go-keyring
// (package oskeyring) report through it, so they fail alike.
func MapSecretServiceError(err error, dbusName string) error {
	msg := err.Error()
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrNotFound
	case dbusName == errServiceUnknown || dbusName == errNameHasNoOwner ||
		strings.Contains(msg, "was not provided by any .service files"):
		return fmt.Errorf("%w [%w]", ErrUnavailable, err)
	case dbusName == errIsLocked ||
		// go-keyring's text when an unlock prompt was dismissed or failed.
		strings.Contains(msg, "failed to unlock correct collection"):
		return fmt.Errorf("%w [%w]", ErrLocked, err)
	case dbusName == errNoReply && strings.Contains(msg, "disconnected"),
		// The session the call opened a moment before is gone: the Secret Service that
		// opened it was replaced in between (go-keyring opens one per call).
		dbusName == errNoSession:
		return fmt.Errorf("%w [%w]", errVanished, err)
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
		// No bus at the address (socket gone, refused): same as no service.
		return fmt.Errorf("%w [%w]", ErrUnavailable, err)
	}
	return fmt.Errorf("keyring: %w", err)
}
