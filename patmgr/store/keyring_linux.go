package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

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
// go-keyring's Get costs seven round trips on the session bus after godbus's
// own five to connect (four authentication exchanges and Hello): Collections
// property, Unlock, SearchItems, OpenSession, Unlock of the item, GetSecret,
// Close. When the item is readable without unlocking, two round trips are
// enough, and that is what a cached get pays: the first write carries the
// authentication, BEGIN, Hello, SearchItems on the collection go-keyring
// would use, and OpenSession ("plain"), all pipelined as the D-Bus
// specification allows; the second is GetSecrets. Messages are encoded and
// decoded with godbus; only the connection is ours. The attributes and the
// collection choice (the "login" collection if it exists, else the default
// alias) are go-keyring's, and the first search result is taken like
// go-keyring does, so both readers return the same item. The connection and
// its session are kept for the next read of this process.
//
// Whenever reading would need an unlock (item or collection locked), the
// collection layout is not one we expect, or the bus address or its
// authentication is not one this reader speaks, directGet reports ok=false
// and the caller uses go-keyring's Get for the same item, so prompting and
// error behaviour stay go-keyring's. Any other failure is returned as is.

// secretStruct is the Secret Service "Secret" struct (oayays).
type secretStruct struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// direct is this process's connection for the direct reader.
var direct struct {
	sync.Mutex
	c *busConn
}

func directGet(ctx context.Context, service, user string) (value string, ok bool, err error) {
	direct.Lock()
	defer direct.Unlock()
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	for attempt := 0; attempt < 2; attempt++ {
		c := direct.c
		if c != nil && c.addr != addr {
			c.close()
			c = nil
		}
		reused := c != nil
		if c == nil {
			if c, ok, err = dialBus(ctx, addr); c == nil {
				return "", ok, err
			}
		}
		value, ok, err = c.get(ctx, service, user)
		if c.broken {
			c.close()
			direct.c = nil
			if reused && ctx.Err() == nil {
				continue // the kept connection had gone stale: once more on a new one
			}
			return value, ok, err
		}
		direct.c = c
		return value, ok, err
	}
	return value, ok, err
}

// busConn is a connection to the session bus that sends method calls and
// waits for their replies, nothing more.
type busConn struct {
	addr    string
	conn    net.Conn
	rd      *bufio.Reader
	hello   bool   // authentication and Hello are still to be sent
	serial  uint32 // of the last call sent
	session dbus.ObjectPath
	broken  bool // an I/O or protocol error: the connection cannot be used again
}

// dialBus connects to the first unix socket of a bus address. Addresses
// without one (tcp:, launchd:, autolaunch: ...) are left to go-keyring.
func dialBus(ctx context.Context, addr string) (*busConn, bool, error) {
	path := ""
	for _, a := range strings.Split(addr, ";") {
		params, found := strings.CutPrefix(a, "unix:")
		if !found {
			continue
		}
		for _, kv := range strings.Split(params, ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "path":
				path = unescapeBusValue(v)
			case "abstract":
				path = "@" + unescapeBusValue(v)
			}
		}
		if path != "" {
			break
		}
	}
	if path == "" {
		return nil, false, nil
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, true, err
	}
	return &busConn{addr: addr, conn: conn, rd: bufio.NewReader(conn), hello: true}, true, nil
}

// unescapeBusValue undoes the %-escaping of D-Bus address values.
func unescapeBusValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) {
			if n, err := strconv.ParseUint(v[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

func (c *busConn) close() { _ = c.conn.Close() }

// call is one method call of a batch and, once answered, its reply.
type call struct {
	dest, iface, member string
	path                dbus.ObjectPath
	args                []any
	serial              uint32
	body                []any
	err                 error // a D-Bus error reply, as a dbus.Error
}

func secretsCall(path dbus.ObjectPath, iface, member string, args ...any) *call {
	return &call{dest: ssName, path: path, iface: iface, member: member, args: args}
}

// roundTrip sends calls in one write (after authentication and Hello, on a
// new connection) and waits for all their replies. An error return means the
// connection is broken; D-Bus error replies are in each call's err.
func (c *busConn) roundTrip(ctx context.Context, calls ...*call) error {
	if err := c.exchange(ctx, calls); err != nil {
		c.broken = true
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	return nil
}

func (c *busConn) exchange(ctx context.Context, calls []*call) error {
	// ctx ends the exchange through the socket's deadline, set once ctx is
	// done so that the caller sees ctx's error.
	_ = c.conn.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var out bytes.Buffer
	all := calls
	var hello *call
	if c.hello {
		// EXTERNAL authentication with our uid (hex of its decimal text),
		// then BEGIN without waiting for OK: the bus reads the lines in order.
		fmt.Fprintf(&out, "\x00AUTH EXTERNAL %x\r\nBEGIN\r\n", strconv.Itoa(os.Getuid()))
		hello = &call{dest: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", iface: "org.freedesktop.DBus", member: "Hello"}
		all = append([]*call{hello}, calls...)
	}
	pending := map[uint32]*call{}
	for _, cl := range all {
		c.serial++
		cl.serial = c.serial
		if err := encodeCall(&out, cl); err != nil {
			return err
		}
		pending[cl.serial] = cl
	}
	if _, err := c.conn.Write(out.Bytes()); err != nil {
		return err
	}
	if c.hello {
		line, err := c.rd.ReadString('\n')
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "OK ") {
			return errAuthRejected
		}
		c.hello = false
	}
	for len(pending) > 0 {
		msg, err := dbus.DecodeMessage(c.rd)
		if err != nil {
			return err
		}
		if msg.Type != dbus.TypeMethodReply && msg.Type != dbus.TypeError {
			continue // signals such as NameAcquired
		}
		serial, _ := msg.Headers[dbus.FieldReplySerial].Value().(uint32)
		cl := pending[serial]
		if cl == nil {
			continue
		}
		delete(pending, serial)
		if msg.Type == dbus.TypeError {
			name, _ := msg.Headers[dbus.FieldErrorName].Value().(string)
			cl.err = dbus.Error{Name: name, Body: msg.Body}
			continue
		}
		cl.body = msg.Body
	}
	if hello != nil && hello.err != nil {
		return hello.err
	}
	return nil
}

// errAuthRejected: the bus did not take EXTERNAL authentication; go-keyring
// (godbus) knows the other mechanisms.
var errAuthRejected = errors.New("session bus rejected EXTERNAL authentication")

// encodeCall appends the method call to out, in little-endian wire format.
// godbus encodes the message; the serial, which godbus sets only for its own
// connections, is patched into the fixed header (bytes 8 to 11).
func encodeCall(out *bytes.Buffer, cl *call) error {
	msg := &dbus.Message{Type: dbus.TypeMethodCall, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldDestination: dbus.MakeVariant(cl.dest),
		dbus.FieldPath:        dbus.MakeVariant(cl.path),
		dbus.FieldInterface:   dbus.MakeVariant(cl.iface),
		dbus.FieldMember:      dbus.MakeVariant(cl.member),
	}, Body: cl.args}
	if len(cl.args) > 0 {
		msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(cl.args...))
	}
	start := out.Len()
	if err := msg.EncodeTo(out, binary.LittleEndian); err != nil {
		return err
	}
	binary.LittleEndian.PutUint32(out.Bytes()[start+8:start+12], cl.serial)
	return nil
}

// get reads one item's secret (see "The direct reader").
func (c *busConn) get(ctx context.Context, service, user string) (string, bool, error) {
	attrs := map[string]string{"username": user, "service": service}
	collection := ssLoginCollection
	search := secretsCall(collection, "org.freedesktop.Secret.Collection", "SearchItems", attrs)
	batch := []*call{search}
	var open *call
	if c.session == "" {
		open = secretsCall(ssPath, "org.freedesktop.Secret.Service", "OpenSession", "plain", dbus.MakeVariant(""))
		batch = append(batch, open)
	}
	if err := c.roundTrip(ctx, batch...); err != nil {
		if errors.Is(err, errAuthRejected) {
			return "", false, nil
		}
		return "", true, err
	}
	if isNoObject(search.err) {
		collection = ssDefaultAlias
		search = secretsCall(collection, "org.freedesktop.Secret.Collection", "SearchItems", attrs)
		if err := c.roundTrip(ctx, search); err != nil {
			return "", true, err
		}
	}
	var items []dbus.ObjectPath
	err := search.err
	if err == nil {
		err = dbus.Store(search.body, &items)
	}
	switch {
	case isNoObject(err):
		return "", false, nil // neither login nor default: let go-keyring decide
	case dbusErrName(err) == errIsLocked:
		return "", false, nil
	case err != nil:
		return "", true, err
	}
	if open != nil {
		var output dbus.Variant
		err := open.err
		if err == nil {
			err = dbus.Store(open.body, &output, &c.session)
		}
		if err != nil {
			return "", true, err
		}
	}
	if len(items) == 0 {
		// go-keyring unlocks the collection before searching; if it is
		// locked, the search may hide items, so only go-keyring can tell.
		locked := &call{dest: ssName, path: collection, iface: "org.freedesktop.DBus.Properties", member: "Get",
			args: []any{"org.freedesktop.Secret.Collection", "Locked"}}
		if err := c.roundTrip(ctx, locked); err != nil {
			return "", true, err
		}
		var v dbus.Variant
		err := locked.err
		if err == nil {
			err = dbus.Store(locked.body, &v)
		}
		if err != nil {
			return "", true, err
		}
		if l, _ := v.Value().(bool); l {
			return "", false, nil
		}
		return "", true, ErrNotFound
	}
	item := items[0]
	for attempt := 0; attempt < 2; attempt++ {
		if c.session == "" {
			open := secretsCall(ssPath, "org.freedesktop.Secret.Service", "OpenSession", "plain", dbus.MakeVariant(""))
			if err := c.roundTrip(ctx, open); err != nil {
				return "", true, err
			}
			var output dbus.Variant
			err := open.err
			if err == nil {
				err = dbus.Store(open.body, &output, &c.session)
			}
			if err != nil {
				return "", true, err
			}
		}
		getSecrets := secretsCall(ssPath, "org.freedesktop.Secret.Service", "GetSecrets", []dbus.ObjectPath{item}, c.session)
		if err := c.roundTrip(ctx, getSecrets); err != nil {
			return "", true, err
		}
		var secrets map[dbus.ObjectPath]secretStruct
		err := getSecrets.err
		if err == nil {
			err = dbus.Store(getSecrets.body, &secrets)
		}
		switch {
		case dbusErrName(err) == errNoSession || isNoObject(err) && attempt == 0:
			c.session = "" // kept session gone (service restarted): open a new one
			continue
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
