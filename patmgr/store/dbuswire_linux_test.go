package store

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

// TestCallDecodesToItsArguments encodes calls with every argument writer and reads them back
// with the decoder, at several offsets into a batch (alignment counts from each message).
func TestCallDecodesToItsArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []dbusArg
		want []any
	}{
		{"none", nil, nil},
		{"string and variant", []dbusArg{argString("plain"), argVariantString("")},
			[]any{"plain", dbusVariant{sig: "s", value: ""}}},
		{"dict", []dbusArg{argStringDict("username", "pat:h/org", "service", "git-credential-azdo")},
			[]any{[]any{[]any{"username", "pat:h/org"}, []any{"service", "git-credential-azdo"}}}},
		{"empty dict", []dbusArg{argStringDict()}, []any{[]any(nil)}},
		{"paths", []dbusArg{argObjectPaths([]string{"/a/1", "/b"}), argObjectPath("/s/7")},
			[]any{[]any{"/a/1", "/b"}, "/s/7"}},
	} {
		for _, prefix := range []int{0, 1, 3, 8} {
			out := appendCall(bytes.Repeat([]byte{'x'}, prefix), 7, ssName, ssPath, "org.freedesktop.Secret.Service", "M", tc.args...)
			msg, err := readMessage(bufio.NewReader(bytes.NewReader(out[prefix:])))
			if err != nil {
				t.Fatalf("%s (after %d bytes): %v", tc.name, prefix, err)
			}
			if msg.kind != msgMethodCall || !reflect.DeepEqual(msg.body, tc.want) {
				t.Errorf("%s (after %d bytes): kind %d body %#v, want %#v", tc.name, prefix, msg.kind, msg.body, tc.want)
			}
			if got := binary.LittleEndian.Uint32(out[prefix+8:]); got != 7 {
				t.Errorf("%s: serial %d, want 7", tc.name, got)
			}
		}
	}
}

// bigEndianReply builds a method return in big-endian order, as a bus on another machine
// would send it: reply serial 3, signature a{o(oayays)}, one secret.
func bigEndianReply() []byte {
	be := binary.BigEndian
	var b []byte
	pad := func(n int) {
		for len(b)%n != 0 {
			b = append(b, 0)
		}
	}
	u32 := func(v uint32) { pad(4); b = be.AppendUint32(b, v) }
	str := func(s string) { u32(uint32(len(s))); b = append(b, s...); b = append(b, 0) }
	sig := func(s string) { b = append(b, byte(len(s))); b = append(b, s...); b = append(b, 0) }

	b = append(b, 'B', msgMethodReturn, 0, 1)
	u32(0) // body length, patched
	u32(9)
	u32(0) // fields length, patched
	fieldsAt := len(b)
	pad(8)
	b = append(b, fieldReplySerial)
	sig("u")
	u32(3)
	pad(8)
	b = append(b, fieldSignature)
	sig("g")
	sig("a{o(oayays)}")
	be.PutUint32(b[12:], uint32(len(b)-fieldsAt))
	pad(8)
	bodyAt := len(b)
	u32(0) // array length, patched
	arrayAt := len(b)
	pad(8)
	entryStart := len(b)
	str("/item/1")
	pad(8)
	str("/session/1")
	u32(0) // parameters: empty ay
	u32(5)
	b = append(b, "s3cr3"...)
	str("text/plain")
	be.PutUint32(b[arrayAt-4:], uint32(len(b)-entryStart))
	be.PutUint32(b[4:], uint32(len(b)-bodyAt))
	return b
}

func TestBigEndianSecretsReply(t *testing.T) {
	msg, err := readMessage(bufio.NewReader(bytes.NewReader(bigEndianReply())))
	if err != nil {
		t.Fatal(err)
	}
	if msg.kind != msgMethodReturn || msg.replySerial != 3 {
		t.Fatalf("kind %d reply serial %d, want %d and 3", msg.kind, msg.replySerial, msgMethodReturn)
	}
	v, found, err := secretOf(msg.body, "/item/1")
	if err != nil || !found || string(v) != "s3cr3" {
		t.Fatalf("secretOf = %q, %v, %v; want s3cr3", v, found, err)
	}
	if _, found, err := secretOf(msg.body, "/item/2"); found || err != nil {
		t.Fatalf("an item left out of the reply: found=%v err=%v", found, err)
	}
}

// TestMalformedMessagesAreErrors: whatever the bus sends, decoding fails cleanly.
func TestMalformedMessagesAreErrors(t *testing.T) {
	good := bigEndianReply()
	tooLong := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(tooLong[4:], 1<<30)
	badOrder := append([]byte(nil), good...)
	badOrder[0] = 'x'
	badSig := appendCall(nil, 1, "d", "/p", "", "M", dbusArg{"a", func(w *wireWriter) { w.uint32(0) }})
	deep := appendCall(nil, 1, "d", "/p", "", "M", dbusArg{strings.Repeat("a", 70) + "y", func(w *wireWriter) { w.uint32(0) }})
	for name, in := range map[string][]byte{
		"empty":                 nil,
		"truncated header":      good[:10],
		"truncated body":        good[:len(good)-3],
		"body over limit":       tooLong,
		"unknown byte order":    badOrder,
		"incomplete array type": badSig,
		"nested too deeply":     deep,
	} {
		if _, err := readMessage(bufio.NewReader(bytes.NewReader(in))); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func TestSplitSignature(t *testing.T) {
	for _, tc := range []struct{ in, first, rest string }{
		{"s", "s", ""},
		{"vo", "v", "o"},
		{"a{o(oayays)}u", "a{o(oayays)}", "u"},
		{"(sa(yv))b", "(sa(yv))", "b"},
	} {
		first, rest, err := splitSignature(tc.in)
		if err != nil || first != tc.first || rest != tc.rest {
			t.Errorf("splitSignature(%q) = %q, %q, %v; want %q, %q", tc.in, first, rest, err, tc.first, tc.rest)
		}
	}
	for _, bad := range []string{"a", "(", "()", "(s}", "z", "{s"} {
		if _, _, err := splitSignature(bad); err == nil {
			t.Errorf("splitSignature(%q) accepted", bad)
		}
	}
}

func TestBusAddresses(t *testing.T) {
	for addr, want := range map[string]string{
		"unix:path=/run/user/1000/bus":                      "/run/user/1000/bus",
		"unix:abstract=/tmp/dbus-X,guid=1":                  "@/tmp/dbus-X",
		"tcp:host=h,port=1;unix:path=/tmp/a%20b":            "/tmp/a b",
		"autolaunch:":                                       "",
		"unix:guid=1":                                       "",
		"unix:path=" + escapeBusValue("/tmp/weird dir,=;%"): "/tmp/weird dir,=;%",
	} {
		if got := busSocketPath(addr); got != want {
			t.Errorf("busSocketPath(%q) = %q, want %q", addr, got, want)
		}
	}
}

// FuzzReadMessage: no input from the bus makes the decoder panic or loop.
func FuzzReadMessage(f *testing.F) {
	f.Add(bigEndianReply())
	f.Add(appendCall(nil, 2, ssName, ssPath, "i", "M", argStringDict("a", "b"), argVariantString("x")))
	f.Fuzz(func(t *testing.T, in []byte) {
		msg, err := readMessage(bufio.NewReader(bytes.NewReader(in)))
		if err == nil {
			_, _, _ = secretOf(msg.body, "/item/1")
			_, _ = objectPaths(msg.body)
			_, _ = openedSession(msg.body)
		}
	})
}
