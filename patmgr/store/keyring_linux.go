package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
			_ = os.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+dbus.EscapeBusAddressValue(p))
			return nil
		}
	}
	return fmt.Errorf("%w [DBUS_SESSION_BUS_ADDRESS is not set and there is no session bus socket at %s]",
		ErrUnavailable, strings.Join(candidates, " or "))
}

// D-Bus names of the Secret Service API and the errors we tell apart.
const (
	ssName            = "org.freedesktop.secrets"
	ssPath            = dbus.ObjectPath("/org/freedesktop/secrets")
	ssLoginCollection = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
	ssDefaultAlias    = dbus.ObjectPath("/org/freedesktop/secrets/aliases/default")

	errServiceUnknown = "org.freedesktop.DBus.Error.ServiceUnknown"
	errNameHasNoOwner = "org.freedesktop.DBus.Error.NameHasNoOwner"
	errUnknownObject  = "org.freedesktop.DBus.Error.UnknownObject"
	errUnknownMethod  = "org.freedesktop.DBus.Error.UnknownMethod"
	errNoSuchObject   = "org.freedesktop.Secret.Error.NoSuchObject"
	errIsLocked       = "org.freedesktop.Secret.Error.IsLocked"
	errNoSession      = "org.freedesktop.Secret.Error.NoSession"
)

func dbusErrName(err error) string {
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

// The direct reader.
//
// go-keyring's Get costs seven round trips on the session bus (Collections
// property, Unlock, SearchItems, OpenSession, Unlock of the item, GetSecret,
// Close). When the item is readable without unlocking, two are enough:
// SearchItems on the collection go-keyring would use, then GetSecrets in a
// "plain" session opened once per bus connection and reused. The attributes
// and the collection choice (the "login" collection if it exists, else the
// default alias) are go-keyring's, and the first search result is taken like
// go-keyring does, so both readers return the same item.
//
// Whenever reading would need an unlock (item or collection locked), or the
// collection layout is not one we expect, directGet reports ok=false and the
// caller uses go-keyring's Get for the same item, so prompting and error
// behaviour stay go-keyring's. Any other failure is returned as is.

// secretStruct is the Secret Service "Secret" struct (oayays).
type secretStruct struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// plainSession caches one plain session per bus connection. godbus's shared
// session-bus connection is replaced when it drops, hence the conn check.
var plainSession struct {
	sync.Mutex
	conn *dbus.Conn
	path dbus.ObjectPath
}

func openPlainSession(ctx context.Context, conn *dbus.Conn, fresh bool) (dbus.ObjectPath, error) {
	plainSession.Lock()
	defer plainSession.Unlock()
	if !fresh && plainSession.conn == conn && plainSession.path != "" {
		return plainSession.path, nil
	}
	var output dbus.Variant
	var path dbus.ObjectPath
	err := conn.Object(ssName, ssPath).CallWithContext(ctx, "org.freedesktop.Secret.Service.OpenSession", 0,
		"plain", dbus.MakeVariant("")).Store(&output, &path)
	if err != nil {
		return "", err
	}
	plainSession.conn, plainSession.path = conn, path
	return path, nil
}

func directGet(ctx context.Context, service, user string) (value string, ok bool, err error) {
	conn, err := dbus.SessionBus()
	if err != nil {
		return "", true, err
	}
	attrs := map[string]string{"username": user, "service": service}
	collection := ssLoginCollection
	var items []dbus.ObjectPath
	err = conn.Object(ssName, collection).CallWithContext(ctx, "org.freedesktop.Secret.Collection.SearchItems", 0, attrs).Store(&items)
	if isNoObject(err) {
		collection = ssDefaultAlias
		err = conn.Object(ssName, collection).CallWithContext(ctx, "org.freedesktop.Secret.Collection.SearchItems", 0, attrs).Store(&items)
	}
	switch {
	case isNoObject(err):
		return "", false, nil // neither login nor default: let go-keyring decide
	case dbusErrName(err) == errIsLocked:
		return "", false, nil
	case err != nil:
		return "", true, err
	}
	if len(items) == 0 {
		// go-keyring unlocks the collection before searching; if it is
		// locked, the search may hide items, so only go-keyring can tell.
		locked, err := conn.Object(ssName, collection).GetProperty("org.freedesktop.Secret.Collection.Locked")
		if err != nil {
			return "", true, err
		}
		if l, _ := locked.Value().(bool); l {
			return "", false, nil
		}
		return "", true, ErrNotFound
	}
	item := items[0]
	for attempt := 0; attempt < 2; attempt++ {
		session, err := openPlainSession(ctx, conn, attempt > 0)
		if err != nil {
			return "", true, err
		}
		var secrets map[dbus.ObjectPath]secretStruct
		err = conn.Object(ssName, ssPath).CallWithContext(ctx, "org.freedesktop.Secret.Service.GetSecrets", 0,
			[]dbus.ObjectPath{item}, session).Store(&secrets)
		switch {
		case dbusErrName(err) == errNoSession || isNoObject(err) && attempt == 0:
			continue // cached session gone (service restarted): open a new one
		case dbusErrName(err) == errIsLocked:
			return "", false, nil
		case err != nil:
			return "", true, err
		}
		s, found := secrets[item]
		if !found {
			return "", false, nil // locked items are left out of the answer
		}
		return string(s.Value), true, nil
	}
	return "", true, errors.New("secret service: no usable session")
}

func isNoObject(err error) bool {
	switch dbusErrName(err) {
	case errNoSuchObject, errUnknownObject, errUnknownMethod:
		return true
	}
	return false
}
