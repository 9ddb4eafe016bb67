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
	ss "github.com/zalando/go-keyring/secret_service"
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

// readQuickly reads the item go-keyring's Get reads (in the login collection, by service and
// user name) in two round trips where go-keyring makes seven: it asks for the search and the
// session at once, and unlocks nothing. ok=false leaves the answer to go-keyring: no such item,
// no login collection (KeePassXC), a locked item, whose unlock may prompt.
func readQuickly(service, user string) (value string, ok bool) {
	svc, err := ss.NewSecretService() // go-keyring's shared connection to the session bus
	if err != nil {
		return "", false
	}
	const name = "org.freedesktop.secrets"
	login := svc.Object(name, "/org/freedesktop/secrets/collection/login")
	search := login.Go("org.freedesktop.Secret.Collection.SearchItems", 0, nil, map[string]string{"username": user, "service": service})
	open := svc.Object(name, "/org/freedesktop/secrets").Go("org.freedesktop.Secret.Service.OpenSession", 0, nil, "plain", dbus.MakeVariant(""))
	var items []dbus.ObjectPath
	var output dbus.Variant
	var session dbus.ObjectPath
	searchErr := (<-search.Done).Store(&items)
	if err := (<-open.Done).Store(&output, &session); err != nil {
		return "", false
	}
	defer svc.Object(name, session).Go("org.freedesktop.Secret.Session.Close", dbus.FlagNoReplyExpected, nil)
	if searchErr != nil || len(items) == 0 {
		return "", false
	}
	secret, err := svc.GetSecret(items[0], session)
	if err != nil {
		return "", false
	}
	return string(secret.Value), true
}
