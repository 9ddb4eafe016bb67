package store

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

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
// decoded by dbuswire_linux.go, and the socket is a plain unix socket, so the front
// links neither godbus nor net. The attributes and the collection choice (the
// "login" collection if it exists, else the default alias) are go-keyring's,
// and the first search result is taken like go-keyring does, so both readers
// return the same item. The connection and its session are kept for the next
// read of this process.
//
// Whenever reading would need an unlock (item or collection locked), the
// collection layout is not one we expect, or the bus address or its
// authentication is not one this reader speaks, directGet reports ok=false
// and the caller hands the read of the same item to Keyring.Items
// (go-keyring's, in the full program; the front has none and reports
// ErrLocked), so prompting and error behaviour stay go-keyring's. Any other
// failure is returned as is.

// direct is this process's connection for the direct reader.
var direct struct {
	sync.Mutex
	c *busConn
}

// directGet reads one item (see "The direct reader"), its errors mapped to this package's
// sentinels.
func directGet(ctx context.Context, service, user string) (string, bool, error) {
	value, ok, err := directGetRaw(ctx, service, user)
	if err != nil {
		err = MapSecretServiceError(err, busErrName(err))
	}
	return value, ok, err
}

func directGetRaw(ctx context.Context, service, user string) (value string, ok bool, err error) {
	direct.Lock()
	defer direct.Unlock()
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	// call reads on c, and keeps c for the next read unless it broke.
	call := func(c *busConn) (string, bool, error) {
		value, ok, err := c.get(ctx, service, user)
		if c.broken {
			c.close()
		} else {
			direct.c = c
		}
		return value, ok, err
	}
	if c := direct.c; c != nil {
		direct.c = nil
		if c.addr != addr {
			c.close()
		} else if value, ok, err = call(c); !c.broken || ctx.Err() != nil {
			return value, ok, err
		}
		// The kept connection had gone stale: once more on a new one.
	}
	c, ok, err := dialBus(addr)
	if c == nil {
		return "", ok, err
	}
	return call(c)
}

// busConn is a connection to the session bus that sends method calls and
// waits for their replies, nothing more.
type busConn struct {
	addr    string
	conn    *os.File // a non-blocking unix socket: reads and writes honour deadlines
	rd      *bufio.Reader
	hello   bool   // authentication and Hello are still to be sent
	serial  uint32 // of the last call sent
	session string
	broken  bool // an I/O or protocol error: the connection cannot be used again
}

// dialBus connects to the first unix socket of a bus address. Addresses
// without one (tcp:, launchd:, autolaunch: ...) are left to go-keyring.
// Connecting to a local socket does not wait for the peer to answer, so the
// caller's deadline starts to matter with the first exchange.
func dialBus(addr string) (*busConn, bool, error) {
	path := busSocketPath(addr)
	if path == "" {
		return nil, false, nil
	}
	// Non-blocking from the start, so that a bus whose backlog is full fails the connect
	// (EAGAIN) instead of blocking it past the caller's deadline.
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, true, os.NewSyscallError("socket", err)
	}
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		return nil, true, &os.PathError{Op: "connect", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	return &busConn{addr: addr, conn: f, rd: bufio.NewReader(f), hello: true}, true, nil
}

// busSocketPath is the socket of the first unix: entry of a bus address that
// names one ("@name" for an abstract socket), or "".
func busSocketPath(addr string) string {
	for _, a := range strings.Split(addr, ";") {
		params, found := strings.CutPrefix(a, "unix:")
		if !found {
			continue
		}
		path := ""
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
			return path
		}
	}
	return ""
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

// escapeBusValue %-escapes a D-Bus address value, leaving the bytes the
// specification lets through as they are.
func escapeBusValue(v string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_/.\\*", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func (c *busConn) close() { _ = c.conn.Close() }

// call is one method call of a batch and, once answered, its reply.
type call struct {
	dest, path, iface, member string
	args                      []dbusArg
	serial                    uint32
	body                      []any
	err                       error // a D-Bus error reply, as a *busError
}

func secretsCall(path, iface, member string, args ...dbusArg) *call {
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

	var out []byte
	all := calls
	var hello *call
	if c.hello {
		// EXTERNAL authentication with our uid (hex of its decimal text),
		// then BEGIN without waiting for OK: the bus reads the lines in order.
		out = append(out, "\x00AUTH EXTERNAL "...)
		for _, d := range []byte(strconv.Itoa(os.Getuid())) {
			out = strconv.AppendUint(out, uint64(d)>>4, 16)
			out = strconv.AppendUint(out, uint64(d)&15, 16)
		}
		out = append(out, "\r\nBEGIN\r\n"...)
		hello = &call{dest: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", iface: "org.freedesktop.DBus", member: "Hello"}
		all = append([]*call{hello}, calls...)
	}
	pending := map[uint32]*call{}
	for _, cl := range all {
		c.serial++
		cl.serial = c.serial
		out = appendCall(out, cl.serial, cl.dest, cl.path, cl.iface, cl.member, cl.args...)
		pending[cl.serial] = cl
	}
	if _, err := c.conn.Write(out); err != nil {
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
		msg, err := readMessage(c.rd)
		if err != nil {
			return err
		}
		if msg.kind != msgMethodReturn && msg.kind != msgError {
			continue // signals such as NameAcquired
		}
		cl := pending[msg.replySerial]
		if cl == nil {
			continue
		}
		delete(pending, msg.replySerial)
		if msg.kind == msgError {
			e := &busError{Name: msg.errorName}
			if len(msg.body) > 0 {
				e.Message, _ = msg.body[0].(string)
			}
			cl.err = e
			continue
		}
		cl.body = msg.body
	}
	if hello != nil && hello.err != nil {
		return hello.err
	}
	return nil
}

// errAuthRejected: the bus did not take EXTERNAL authentication; go-keyring
// (godbus) knows the other mechanisms.
var errAuthRejected = errors.New("session bus rejected EXTERNAL authentication")

// errBadReply: a reply's body is not what the Secret Service API specifies.
var errBadReply = errors.New("secret service: unexpected reply")

// objectPaths reads a reply whose body starts with an "ao".
func objectPaths(body []any) ([]string, error) {
	if len(body) < 1 {
		return nil, errBadReply
	}
	list, ok := body[0].([]any)
	if !ok && body[0] != nil {
		return nil, errBadReply
	}
	paths := make([]string, 0, len(list))
	for _, p := range list {
		s, ok := p.(string)
		if !ok {
			return nil, errBadReply
		}
		paths = append(paths, s)
	}
	return paths, nil
}

// openedSession reads OpenSession's reply (v, o).
func openedSession(body []any) (string, error) {
	if len(body) != 2 {
		return "", errBadReply
	}
	path, ok := body[1].(string)
	if !ok || path == "" {
		return "", errBadReply
	}
	return path, nil
}

// secretOf reads GetSecrets' reply (a{o(oayays)}) for item; found=false when
// the item is left out, as locked items are.
func secretOf(body []any, item string) (value []byte, found bool, err error) {
	if len(body) != 1 {
		return nil, false, errBadReply
	}
	entries, _ := body[0].([]any)
	for _, e := range entries {
		kv, _ := e.([]any)
		if len(kv) != 2 {
			return nil, false, errBadReply
		}
		if path, _ := kv[0].(string); path != item {
			continue
		}
		secret, _ := kv[1].([]any) // session, parameters, value, content type
		if len(secret) != 4 {
			return nil, false, errBadReply
		}
		v, ok := secret[2].([]byte)
		if !ok {
			return nil, false, errBadReply
		}
		return v, true, nil
	}
	return nil, false, nil
}

// get reads one item's secret (see "The direct reader").
func (c *busConn) get(ctx context.Context, service, user string) (string, bool, error) {
	attrs := argStringDict("username", user, "service", service)
	searchIn := func(collection string) *call {
		return secretsCall(collection, "org.freedesktop.Secret.Collection", "SearchItems", attrs)
	}
	collection := ssLoginCollection
	search := searchIn(collection)
	batch := []*call{search}
	var open *call
	if c.session == "" {
		open = openSessionCall()
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
		search = searchIn(collection)
		if err := c.roundTrip(ctx, search); err != nil {
			return "", true, err
		}
	}
	var items []string
	err := search.err
	if err == nil {
		items, err = objectPaths(search.body)
	}
	switch {
	case isNoObject(err):
		return "", false, nil // neither login nor default: let go-keyring decide
	case busErrName(err) == errIsLocked:
		return "", false, nil
	case err != nil:
		return "", true, err
	}
	if open != nil {
		if err := c.keepSession(open); err != nil {
			return "", true, err
		}
	}
	if len(items) == 0 {
		return c.missing(ctx, collection)
	}
	item := items[0]
	for attempt := 0; attempt < 2; attempt++ {
		if c.session == "" {
			open := openSessionCall()
			if err := c.roundTrip(ctx, open); err != nil {
				return "", true, err
			}
			if err := c.keepSession(open); err != nil {
				return "", true, err
			}
		}
		getSecrets := secretsCall(ssPath, "org.freedesktop.Secret.Service", "GetSecrets",
			argObjectPaths([]string{item}), argObjectPath(c.session))
		if err := c.roundTrip(ctx, getSecrets); err != nil {
			return "", true, err
		}
		var value []byte
		found := false
		err := getSecrets.err
		if err == nil {
			value, found, err = secretOf(getSecrets.body, item)
		}
		switch {
		case busErrName(err) == errNoSession || isNoObject(err) && attempt == 0:
			c.session = "" // kept session gone (service restarted): open a new one
			continue
		case busErrName(err) == errIsLocked:
			return "", false, nil
		case err != nil:
			return "", true, err
		}
		if !found {
			return "", false, nil // locked items are left out of the answer
		}
		return string(value), true, nil
	}
	return "", true, errors.New("secret service: no usable session")
}

func openSessionCall() *call {
	return secretsCall(ssPath, "org.freedesktop.Secret.Service", "OpenSession", argString("plain"), argVariantString(""))
}

func (c *busConn) keepSession(open *call) error {
	err := open.err
	if err == nil {
		c.session, err = openedSession(open.body)
	}
	return err
}

// missing decides what an empty search means. go-keyring unlocks the
// collection before searching; if it is locked, the search may hide items, so
// only go-keyring can tell.
func (c *busConn) missing(ctx context.Context, collection string) (string, bool, error) {
	locked := secretsCall(collection, "org.freedesktop.DBus.Properties", "Get",
		argString("org.freedesktop.Secret.Collection"), argString("Locked"))
	if err := c.roundTrip(ctx, locked); err != nil {
		return "", true, err
	}
	if err := locked.err; err != nil {
		return "", true, err
	}
	if len(locked.body) != 1 {
		return "", true, errBadReply
	}
	v, ok := locked.body[0].(dbusVariant)
	if !ok {
		return "", true, errBadReply
	}
	if l, _ := v.value.(bool); l {
		return "", false, nil
	}
	return "", true, ErrNotFound
}

func isNoObject(err error) bool {
	switch busErrName(err) {
	case errNoSuchObject, errUnknownObject, errUnknownMethod:
		return true
	}
	return false
}
