package store

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The D-Bus wire format, as far as the direct Secret Service reader needs it.
//
// The front git runs on every get reads the keyring through this small codec instead of godbus:
// godbus brings reflection-driven marshalling, net and their package initialisation, which cost
// a cached get about a tenth of a millisecond before it does anything. Calls are encoded from a
// few typed argument writers; replies are decoded by their signature into plain values
// (string, uint32, bool, []byte for "ay", []any for arrays and structs, dbusVariant).
// https://dbus.freedesktop.org/doc/dbus-specification.html#message-protocol-marshaling

const (
	msgMethodCall   = 1
	msgMethodReturn = 2
	msgError        = 3

	fieldPath        = 1
	fieldInterface   = 2
	fieldMember      = 3
	fieldErrorName   = 4
	fieldReplySerial = 5
	fieldDestination = 6
	fieldSignature   = 8

	// maxArrayNesting is the specification's limit on arrays within arrays.
	maxArrayNesting = 32

	// maxMessage bounds what a reply may make this process read (the specification's limit).
	maxMessage = 128 << 20
)

// dbusVariant is a decoded variant: its signature and value.
type dbusVariant struct {
	sig   string
	value any
}

// busError is a D-Bus error reply.
type busError struct {
	Name    string
	Message string
}

func (e *busError) Error() string {
	if e.Message == "" {
		return e.Name
	}
	return e.Name + ": " + e.Message
}

// busErrName is the D-Bus error name in err's chain, or "".
func busErrName(err error) string {
	var be *busError
	if errors.As(err, &be) {
		return be.Name
	}
	return ""
}

// wireWriter appends little-endian D-Bus values, aligned from the start of the message.
type wireWriter struct{ b []byte }

func (w *wireWriter) align(n int) {
	for len(w.b)%n != 0 {
		w.b = append(w.b, 0)
	}
}

func (w *wireWriter) byte(v byte) { w.b = append(w.b, v) }

func (w *wireWriter) uint32(v uint32) {
	w.align(4)
	w.b = binary.LittleEndian.AppendUint32(w.b, v)
}

// str writes a string or an object path ("s", "o").
func (w *wireWriter) str(s string) {
	w.uint32(uint32(len(s)))
	w.b = append(w.b, s...)
	w.b = append(w.b, 0)
}

func (w *wireWriter) signature(s string) {
	w.byte(byte(len(s)))
	w.b = append(w.b, s...)
	w.b = append(w.b, 0)
}

// array writes an array whose elements align to elemAlign, each written by elem.
func (w *wireWriter) array(elemAlign int, elems func()) {
	w.uint32(0) // length, patched below
	at := len(w.b) - 4
	w.align(elemAlign)
	start := len(w.b)
	elems()
	binary.LittleEndian.PutUint32(w.b[at:], uint32(len(w.b)-start))
}

// dbusArg is one argument of a call: its signature and how to write it.
type dbusArg struct {
	sig   string
	write func(*wireWriter)
}

func argString(s string) dbusArg { return dbusArg{"s", func(w *wireWriter) { w.str(s) }} }

func argObjectPath(p string) dbusArg { return dbusArg{"o", func(w *wireWriter) { w.str(p) }} }

func argVariantString(s string) dbusArg {
	return dbusArg{"v", func(w *wireWriter) { w.signature("s"); w.str(s) }}
}

func argObjectPaths(paths []string) dbusArg {
	return dbusArg{"ao", func(w *wireWriter) {
		w.array(4, func() {
			for _, p := range paths {
				w.str(p)
			}
		})
	}}
}

// argStringDict writes an a{ss}, its entries in the order given (pairs of key and value).
func argStringDict(pairs ...string) dbusArg {
	return dbusArg{"a{ss}", func(w *wireWriter) {
		w.array(8, func() {
			for i := 0; i+1 < len(pairs); i += 2 {
				w.align(8)
				w.str(pairs[i])
				w.str(pairs[i+1])
			}
		})
	}}
}

// appendCall appends a method call message with the given serial to out.
func appendCall(out []byte, serial uint32, dest, path, iface, member string, args ...dbusArg) []byte {
	var body wireWriter
	sig := ""
	for _, a := range args {
		sig += a.sig
		a.write(&body)
	}
	var w wireWriter // a new writer: alignment counts from the message's first byte
	w.b = append(w.b, 'l', msgMethodCall, 0, 1)
	w.uint32(uint32(len(body.b)))
	w.uint32(serial)
	field := func(code byte, sig string, write func()) {
		w.align(8)
		w.byte(code)
		w.signature(sig)
		write()
	}
	w.array(8, func() {
		field(fieldPath, "o", func() { w.str(path) })
		if iface != "" {
			field(fieldInterface, "s", func() { w.str(iface) })
		}
		field(fieldMember, "s", func() { w.str(member) })
		field(fieldDestination, "s", func() { w.str(dest) })
		if sig != "" {
			field(fieldSignature, "g", func() { w.signature(sig) })
		}
	})
	w.align(8)
	w.b = append(w.b, body.b...)
	return append(out, w.b...)
}

// dbusMessage is a decoded reply, error or signal.
type dbusMessage struct {
	kind        byte
	replySerial uint32
	errorName   string
	body        []any
}

// readMessage reads one message from r.
func readMessage(r *bufio.Reader) (*dbusMessage, error) {
	fixed := make([]byte, 16)
	if _, err := io.ReadFull(r, fixed); err != nil {
		return nil, err
	}
	var order binary.ByteOrder
	switch fixed[0] {
	case 'l':
		order = binary.LittleEndian
	case 'B':
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("d-bus: bad byte order %q", fixed[0])
	}
	bodyLen, fieldsLen := order.Uint32(fixed[4:]), order.Uint32(fixed[12:])
	padded := (uint64(fieldsLen) + 7) &^ 7
	if uint64(bodyLen)+padded+16 > maxMessage {
		return nil, errors.New("d-bus: message too long")
	}
	msg := make([]byte, 16+padded+uint64(bodyLen))
	copy(msg, fixed)
	if _, err := io.ReadFull(r, msg[16:]); err != nil {
		return nil, err
	}
	d := &wireReader{b: msg, off: 12, order: order}
	fields, err := d.value("a(yv)")
	if err != nil {
		return nil, fmt.Errorf("d-bus: header: %w", err)
	}
	m := &dbusMessage{kind: fixed[1]}
	sig := ""
	for _, f := range fields.([]any) {
		pair := f.([]any)
		v := pair[1].(dbusVariant)
		switch pair[0].(byte) {
		case fieldReplySerial:
			m.replySerial, _ = v.value.(uint32)
		case fieldErrorName:
			m.errorName, _ = v.value.(string)
		case fieldSignature:
			sig, _ = v.value.(string)
		}
	}
	d.off = 16 + int(padded)
	if m.body, err = d.values(sig); err != nil {
		return nil, fmt.Errorf("d-bus: body: %w", err)
	}
	return m, nil
}

// wireReader decodes values from a whole message (alignment counts from its start).
type wireReader struct {
	b     []byte
	off   int
	order binary.ByteOrder
	depth int
}

var errShort = errors.New("message ends early")

func (d *wireReader) align(n int) error {
	next := (d.off + n - 1) / n * n
	if next > len(d.b) {
		return errShort
	}
	d.off = next
	return nil
}

func (d *wireReader) take(n int) ([]byte, error) {
	if n < 0 || d.off+n > len(d.b) {
		return nil, errShort
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p, nil
}

// fixed reads an n-byte value, aligned to n.
func (d *wireReader) fixed(n int) ([]byte, error) {
	if err := d.align(n); err != nil {
		return nil, err
	}
	return d.take(n)
}

func (d *wireReader) uint32() (uint32, error) {
	p, err := d.fixed(4)
	if err != nil {
		return 0, err
	}
	return d.order.Uint32(p), nil
}

// values decodes the complete types of sig one after the other, as a body or a struct holds them.
func (d *wireReader) values(sig string) ([]any, error) {
	var out []any
	for sig != "" {
		one, rest, err := splitSignature(sig)
		if err != nil {
			return nil, err
		}
		v, err := d.value(one)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		sig = rest
	}
	return out, nil
}

func (d *wireReader) str(lenBytes int) (string, error) {
	var n int
	if lenBytes == 1 {
		p, err := d.take(1)
		if err != nil {
			return "", err
		}
		n = int(p[0])
	} else {
		u, err := d.uint32()
		if err != nil {
			return "", err
		}
		n = int(u)
	}
	p, err := d.take(n + 1)
	if err != nil {
		return "", err
	}
	return string(p[:n]), nil
}

// value decodes one complete type.
func (d *wireReader) value(sig string) (any, error) {
	if d.depth > 64 {
		return nil, errors.New("values nested too deeply")
	}
	d.depth++
	defer func() { d.depth-- }()
	switch sig[0] {
	case 'y':
		p, err := d.take(1)
		if err != nil {
			return nil, err
		}
		return p[0], nil
	case 'b':
		v, err := d.uint32()
		return v != 0, err
	case 'u':
		return d.uint32()
	case 's', 'o':
		return d.str(4)
	case 'g':
		return d.str(1)
	case 'v':
		inner, err := d.str(1)
		if err != nil {
			return nil, err
		}
		if one, rest, err := splitSignature(inner); err != nil || rest != "" || one == "" {
			return nil, fmt.Errorf("bad variant signature %q", inner)
		}
		v, err := d.value(inner)
		return dbusVariant{sig: inner, value: v}, err
	case 'a':
		n, err := d.uint32()
		if err != nil {
			return nil, err
		}
		elem := sig[1:]
		if elem == "y" {
			return d.take(int(n))
		}
		if err := d.align(alignOf(elem[0])); err != nil {
			return nil, err
		}
		end := d.off + int(n)
		if n > maxMessage || end > len(d.b) {
			return nil, errShort
		}
		var out []any
		for d.off < end {
			v, err := d.value(elem)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case '(', '{':
		if err := d.align(8); err != nil {
			return nil, err
		}
		return d.values(sig[1 : len(sig)-1])
	case 'n', 'q':
		p, err := d.fixed(2)
		if err != nil {
			return nil, err
		}
		return d.order.Uint16(p), nil
	case 'i', 'h':
		return d.uint32()
	case 'x', 't', 'd':
		p, err := d.fixed(8)
		if err != nil {
			return nil, err
		}
		return d.order.Uint64(p), nil
	}
	return nil, fmt.Errorf("unsupported type %q", sig)
}

func alignOf(c byte) int {
	switch c {
	case 'y', 'g', 'v':
		return 1
	case 'n', 'q':
		return 2
	case 'x', 't', 'd', '(', '{':
		return 8
	}
	return 4
}

// splitSignature cuts the first complete type off sig.
func splitSignature(sig string) (first, rest string, err error) {
	if sig == "" {
		return "", "", nil
	}
	switch sig[0] {
	case 'a':
		if len(sig)-len(strings.TrimLeft(sig, "a")) > maxArrayNesting {
			return "", "", fmt.Errorf("arrays nested too deeply in signature %q", sig)
		}
		elem, rest, err := splitSignature(sig[1:])
		if err != nil || elem == "" {
			return "", "", fmt.Errorf("bad signature %q", sig)
		}
		return "a" + elem, rest, nil
	case '(', '{':
		closer := byte(')')
		if sig[0] == '{' {
			closer = '}'
		}
		depth := 0
		for i := 0; i < len(sig); i++ {
			switch sig[i] {
			case '(', '{':
				depth++
			case ')', '}':
				depth--
				if depth == 0 {
					if sig[i] != closer || i == 1 {
						return "", "", fmt.Errorf("bad signature %q", sig)
					}
					return sig[:i+1], sig[i+1:], nil
				}
			}
		}
		return "", "", fmt.Errorf("bad signature %q", sig)
	}
	if !strings.ContainsRune("ybnqiuxtdhsogv", rune(sig[0])) {
		return "", "", fmt.Errorf("bad signature %q", sig)
	}
	return sig[:1], sig[1:], nil
}
