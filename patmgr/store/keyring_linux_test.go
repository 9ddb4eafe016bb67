package store

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	dbus "github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/keyringtest"
)

// TestDirectReadMatchesGoKeyring: what go-keyring wrote, the direct reader
// reads identically, and the other way round (values our Store wrote read
// the same through go-keyring's Get).
func TestDirectReadMatchesGoKeyring(t *testing.T) {
	k := newKeyring(t)
	ctx := context.Background()
	values := []string{"", "x", "hello world", "pässwörd ✓ 🔑", "line1\nline2\r\n", "\x00\x01\xfe\xff binary",
		strings.Repeat("0123456789", 5000)}
	for i, v := range values {
		user := "user" + string(rune('a'+i))
		if err := keyring.Set(k.Service, user, v); err != nil {
			t.Fatal(err)
		}
		want, err := keyring.Get(k.Service, user)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := directGet(ctx, k.Service, user)
		if !ok || err != nil || got != want {
			t.Errorf("value %d: direct = %q (ok=%v, %v); go-keyring = %q", i, trunc(got), ok, err, trunc(want))
		}
	}
	// Absent items agree too.
	if _, ok, err := directGet(ctx, k.Service, "nobody"); !ok || !errors.Is(err, ErrNotFound) {
		t.Errorf("direct absent: ok=%v err=%v", ok, err)
	}
	// Same service, other user name: attributes must match exactly.
	if _, ok, err := directGet(ctx, k.Service, "user"); !ok || !errors.Is(err, ErrNotFound) {
		t.Errorf("direct prefix user: ok=%v err=%v", ok, err)
	}

	// Store writes (go-keyring) read back identically by both readers.
	slow := &Keyring{Service: k.Service, Timeout: k.Timeout, Items: OSItems}
	for _, v := range [][]byte{allBytes(), randomBytes(10_000), []byte("{}")} {
		if err := k.Set(ctx, "pat", v); err != nil {
			t.Fatal(err)
		}
		raw, err := keyring.Get(k.Service, "pat")
		if err != nil {
			t.Fatal(err)
		}
		direct, ok, err := directGet(ctx, k.Service, "pat")
		if !ok || err != nil || direct != raw {
			t.Fatalf("direct %q vs go-keyring %q (%v)", trunc(direct), trunc(raw), err)
		}
		g1, err1 := k.Get(ctx, "pat")
		g2, err2 := slow.Get(ctx, "pat")
		if err1 != nil || err2 != nil || !bytes.Equal(g1, v) || !bytes.Equal(g2, v) {
			t.Fatalf("Store reads differ: %v %v", err1, err2)
		}
	}
}

// Benchmarks against the real gnome-keyring started by TestMain: one stored
// PAT-sized value read through go-keyring and through the direct reader.
func benchGet(b *testing.B, read func(k *Keyring) (string, error)) {
	k := newKeyring(b)
	if err := keyring.Set(k.Service, "pat", strings.Repeat("p", 300)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		v, err := read(k)
		if err != nil || len(v) != 300 {
			b.Fatalf("%d bytes, %v", len(v), err)
		}
	}
}

func BenchmarkKeyringGet_GoKeyring(b *testing.B) {
	benchGet(b, func(k *Keyring) (string, error) { return keyring.Get(k.Service, "pat") })
}

func BenchmarkKeyringGet_Direct(b *testing.B) {
	benchGet(b, func(k *Keyring) (string, error) {
		v, _, err := directGet(context.Background(), k.Service, "pat")
		return v, err
	})
}

// TestVanishedServiceIsRetriedOnce: a call the Secret Service left unanswered by leaving the bus
// is made once more; any other failure, and a second vanishing, are returned.
func TestVanishedServiceIsRetriedOnce(t *testing.T) {
	vanished := MapSecretServiceError(&busError{Name: errNoReply, Message: "Message recipient disconnected from message bus without replying"}, errNoReply)
	if !errors.Is(vanished, errVanished) {
		t.Fatalf("NoReply from a departed callee = %v, want errVanished", vanished)
	}
	// Seen in TestFaultMatrix: go-keyring's CreateItem after the service restarted.
	if lost := MapSecretServiceError(&busError{Name: errNoSession, Message: "The session wrapping the secret does not exist"}, errNoSession); !errors.Is(lost, errVanished) {
		t.Fatalf("NoSession = %v, want errVanished", lost)
	}
	timedOut := &busError{Name: errNoReply, Message: "Did not receive a reply"}
	if errors.Is(MapSecretServiceError(timedOut, errNoReply), errVanished) {
		t.Fatal("a bus timeout is not a departed callee")
	}
	for _, tc := range []struct {
		name  string
		errs  []error
		calls int
		want  error
	}{
		{"ok", []error{nil}, 1, nil},
		{"vanished once", []error{vanished, nil}, 2, nil},
		{"vanished twice", []error{vanished, vanished}, 2, errVanished},
		{"locked", []error{ErrLocked}, 1, ErrLocked},
	} {
		calls := 0
		err := retryVanished(func() error { calls++; return tc.errs[calls-1] })
		if calls != tc.calls || !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: %d calls, err %v; want %d calls, err %v", tc.name, calls, err, tc.calls, tc.want)
		}
	}
}

// A kept connection that broke since the last read (the bus or the service went away) is
// replaced by a new one within the same read.
func TestDirectReadRedialsAStaleConnection(t *testing.T) {
	k := newKeyring(t)
	ctx := context.Background()
	if err := keyring.Set(k.Service, "stale", "value"); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := directGet(ctx, k.Service, "stale"); !ok || err != nil || got != "value" {
		t.Fatalf("first read: %q, %v, %v", got, ok, err)
	}
	direct.Lock()
	kept := direct.c
	if kept == nil {
		direct.Unlock()
		t.Fatal("the first read kept no connection")
	}
	kept.conn.Close() // as if the peer had gone: the next write fails
	direct.Unlock()
	if got, ok, err := directGet(ctx, k.Service, "stale"); !ok || err != nil || got != "value" {
		t.Fatalf("read on a stale connection: %q, %v, %v", got, ok, err)
	}
	direct.Lock()
	defer direct.Unlock()
	if direct.c == nil || direct.c == kept {
		t.Fatal("the stale connection was not replaced")
	}
}

// forgetDirectConnection makes the next direct read dial afresh, as a new process would.
func forgetDirectConnection() {
	direct.Lock()
	defer direct.Unlock()
	if direct.c != nil {
		direct.c.close()
		direct.c = nil
	}
}

// TestDirectReadLeavesALockedCollectionToGoKeyring: in a locked collection gnome-keyring finds
// the item but leaves its secret out of GetSecrets, and finds nothing at all for an item it
// would find once unlocked. Neither may read as "not stored": the full program would then mint
// a PAT it already has. Both must hand the read over (ok=false), which unlocks.
func TestDirectReadLeavesALockedCollectionToGoKeyring(t *testing.T) {
	k := newKeyring(t)
	if err := keyring.Set(k.Service, "present", "value"); err != nil {
		t.Fatal(err)
	}
	defer lockCollection(t)()
	for _, user := range []string{"present", "absent"} {
		for _, fresh := range []bool{true, false} { // a new connection, and the kept one
			if fresh {
				forgetDirectConnection()
			}
			v, ok, err := directGet(context.Background(), k.Service, user)
			if ok || err != nil || v != "" {
				t.Errorf("%s item, new connection %v: direct read = %q, ok=%v, %v; want it handed over (ok=false, no error)",
					user, fresh, v, ok, err)
			}
		}
	}
}

// TestDirectReadUsesTheDefaultAliasWithoutALoginCollection: where there is no "login" collection
// (a desktop that names its keyring otherwise), go-keyring uses the collection the "default"
// alias names, and so must the direct reader; with neither, it hands the read over. This runs on
// a Secret Service of its own, since it deletes the login collection.
func TestDirectReadUsesTheDefaultAliasWithoutALoginCollection(t *testing.T) {
	keyringtest.Require(t)
	s, err := keyringtest.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	defer forgetDirectConnection() // its connection is to this session's bus
	conn, err := dbus.Connect(s.BusAddress)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	secrets := func(path string) dbus.BusObject { return conn.Object(ssName, dbus.ObjectPath(path)) }
	const sessionCollection = "/org/freedesktop/secrets/collection/session"
	if err := secrets(ssPath).Call("org.freedesktop.Secret.Service.SetAlias", 0, "default", dbus.ObjectPath(sessionCollection)).Err; err != nil {
		t.Fatal(err)
	}
	var prompt dbus.ObjectPath
	if err := secrets(ssLoginCollection).Call("org.freedesktop.Secret.Collection.Delete", 0).Store(&prompt); err != nil || prompt != "/" {
		t.Fatalf("deleting the login collection: prompt %q, %v", prompt, err)
	}
	// The item as go-keyring's Set writes it where there is no login collection.
	var ignored dbus.Variant
	var session dbus.ObjectPath
	if err := secrets(ssPath).Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&ignored, &session); err != nil {
		t.Fatal(err)
	}
	secret := struct {
		Session     dbus.ObjectPath
		Parameters  []byte
		Value       []byte
		ContentType string
	}{session, []byte{}, []byte("in the default collection"), "text/plain; charset=utf8"}
	props := map[string]dbus.Variant{
		"org.freedesktop.Secret.Item.Label":      dbus.MakeVariant("Password for 'user' on 'svc'"),
		"org.freedesktop.Secret.Item.Attributes": dbus.MakeVariant(map[string]string{"username": "user", "service": "svc"}),
	}
	var item dbus.ObjectPath
	if err := secrets(ssDefaultAlias).Call("org.freedesktop.Secret.Collection.CreateItem", 0, props, secret, true).Store(&item, &prompt); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	forgetDirectConnection()
	if v, ok, err := directGet(ctx, "svc", "user"); !ok || err != nil || v != "in the default collection" {
		t.Errorf("item in the default collection: %q, ok=%v, %v", v, ok, err)
	}
	if _, ok, err := directGet(ctx, "svc", "nobody"); !ok || !errors.Is(err, ErrNotFound) {
		t.Errorf("absent from the default collection: ok=%v, %v; want ErrNotFound", ok, err)
	}

	// No alias either: the reader cannot tell where go-keyring would look.
	if err := secrets(ssPath).Call("org.freedesktop.Secret.Service.SetAlias", 0, "default", dbus.ObjectPath("/")).Err; err != nil {
		t.Fatal(err)
	}
	for _, fresh := range []bool{true, false} {
		if fresh {
			forgetDirectConnection()
		}
		if v, ok, err := directGet(ctx, "svc", "user"); ok || err != nil || v != "" {
			t.Errorf("no login collection, no default alias (new connection %v): %q, ok=%v, %v; want it handed over", fresh, v, ok, err)
		}
	}
}
