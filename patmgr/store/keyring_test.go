package store

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/internal/testenv"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/keyringtest"
	"github.com/zalando/go-keyring"
)

// items returns the raw strings stored for key and its parts, in order,
// read straight through go-keyring.
func items(t *testing.T, k *Keyring, key string) []string {
	t.Helper()
	var out []string
	for i := 0; ; i++ {
		name := key
		if i > 0 {
			name = partName(key, i)
		}
		v, err := keyring.Get(k.Service, name)
		if errors.Is(err, keyring.ErrNotFound) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
}

func TestKeyringChunking(t *testing.T) {
	k := newKeyring(t)
	k.PartLimit = 100
	ctx := context.Background()

	big := randomBytes(1000) // ~1,336 base64 characters: 14 or 15 parts
	if err := k.Set(ctx, "cache", big); err != nil {
		t.Fatal(err)
	}
	parts := items(t, k, "cache")
	if len(parts) < 14 {
		t.Fatalf("stored in %d items, want at least 14", len(parts))
	}
	for i, p := range parts {
		if len(p) > k.PartLimit {
			t.Errorf("item %d is %d bytes, over the limit %d", i, len(p), k.PartLimit)
		}
	}
	if n, _, _, err := parseHead(parts[0]); err != nil || n != len(parts) {
		t.Fatalf("header says %d parts (%v), %d stored", n, err, len(parts))
	}
	if got, err := k.Get(ctx, "cache"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Get = %d bytes, %v", len(got), err)
	}
	// The limit is only for writing: a reader with another limit (another
	// OS's default, say) reads the same items.
	other := &Keyring{Service: k.Service, Timeout: k.Timeout, DirectRead: k.DirectRead, Items: OSItems}
	if got, err := other.Get(ctx, "cache"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Get without limit = %d bytes, %v", len(got), err)
	}

	// Shrinking removes the parts that are no longer used.
	small := randomBytes(150)
	if err := k.Set(ctx, "cache", small); err != nil {
		t.Fatal(err)
	}
	if parts := items(t, k, "cache"); len(parts) != 3 {
		t.Fatalf("after shrinking: %d items, want 3", len(parts))
	}
	if _, err := keyring.Get(k.Service, partName("cache", 3)); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("leftover part 3: %v", err)
	}
	if got, err := k.Get(ctx, "cache"); err != nil || !bytes.Equal(got, small) {
		t.Fatalf("Get after shrink = %d bytes, %v", len(got), err)
	}

	// Delete removes every part, including leftovers of an interrupted write.
	if err := keyring.Set(k.Service, partName("cache", 3), "orphan"); err != nil {
		t.Fatal(err)
	}
	if err := k.Delete(ctx, "cache"); err != nil {
		t.Fatal(err)
	}
	if rest := items(t, k, "cache"); len(rest) != 0 {
		t.Fatalf("after Delete: %d items left", len(rest))
	}
	for i := 1; i <= 3; i++ {
		if _, err := keyring.Get(k.Service, partName("cache", i)); !errors.Is(err, keyring.ErrNotFound) {
			t.Fatalf("part %d left after Delete: %v", i, err)
		}
	}

	if err := (&Keyring{Service: k.Service, PartLimit: 10, Items: OSItems}).Set(ctx, "x", big); err == nil {
		t.Fatal("a part limit below the header size was accepted")
	}
}

func TestKeyringTornWrite(t *testing.T) {
	k := newKeyring(t)
	k.PartLimit = 100
	ctx := context.Background()
	a, b := randomBytes(300), randomBytes(300)
	if err := k.Set(ctx, "v", a); err != nil {
		t.Fatal(err)
	}
	partsA := items(t, k, "v")
	other := newKeyring(t)
	other.PartLimit = 100
	if err := other.Set(ctx, "v", b); err != nil {
		t.Fatal(err)
	}
	partsB := items(t, other, "v")

	check := func(what string) {
		t.Helper()
		start := time.Now()
		got, err := k.Get(ctx, "v")
		if !errors.Is(err, ErrCorrupt) || !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: Get = %d bytes, %v; want a torn-value error", what, len(got), err)
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("%s: torn read took %v", what, time.Since(start))
		}
	}
	// A second writer (another process) has replaced part 1 but not yet the head.
	if err := keyring.Set(k.Service, partName("v", 1), partsB[1]); err != nil {
		t.Fatal(err)
	}
	check("mixed parts")
	// A part is missing (a writer is shrinking or deleting the value).
	if err := keyring.Set(k.Service, partName("v", 1), partsA[1]); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Get(ctx, "v"); err != nil || !bytes.Equal(got, a) {
		t.Fatalf("restored value: %d bytes, %v", len(got), err)
	}
	if err := keyring.Delete(k.Service, partName("v", 2)); err != nil {
		t.Fatal(err)
	}
	check("missing part")
	// Something that is not ours at all.
	if err := keyring.Set(k.Service, "v", "plain text"); err != nil {
		t.Fatal(err)
	}
	check("foreign value")
	// Writing again repairs it.
	if err := k.Set(ctx, "v", a); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Get(ctx, "v"); err != nil || !bytes.Equal(got, a) {
		t.Fatalf("after repair: %d bytes, %v", len(got), err)
	}
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// lockCollection locks the test session's login collection; the function it returns unlocks it.
func lockCollection(t *testing.T) (unlock func()) {
	t.Helper()
	testenv.SkipOnWindows(t, "a Secret Service to lock (the Credential Manager has no lock)")
	s := keyringtest.Current()
	if err := s.Lock(); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := s.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKeyringLocked: with the login collection locked and no prompter, a
// read ends in a clear error (or the timeout), never a hang.
func TestKeyringLocked(t *testing.T) {
	k := newKeyring(t)
	ctx := context.Background()
	if err := k.Set(ctx, "pat", []byte("secret")); err != nil {
		t.Fatal(err)
	}
	unlock := lockCollection(t)
	defer func() {
		unlock()
		if got, err := k.Get(ctx, "pat"); err != nil || string(got) != "secret" {
			t.Fatalf("after unlock: %q, %v", got, err)
		}
	}()
	for _, direct := range []bool{true, false} {
		// A fresh Keyring each time: a timed-out call leaves its goroutine
		// behind, still reading the fields of the one it ran on.
		k := &Keyring{Service: k.Service, Timeout: 2 * time.Second, DirectRead: direct, Items: OSItems}
		start := time.Now()
		_, err := k.Get(ctx, "pat")
		took := time.Since(start)
		t.Logf("direct=%v: %v after %v", direct, err, took)
		if !errors.Is(err, ErrLocked) && !errors.Is(err, ErrTimeout) {
			t.Errorf("direct=%v: Get on a locked keyring = %v, want ErrLocked or ErrTimeout", direct, err)
		}
		// Slack for a loaded machine; what matters is that it ends.
		if took > k.Timeout+3*time.Second {
			t.Errorf("direct=%v: took %v, timeout %v", direct, took, k.Timeout)
		}
	}
}

// BenchmarkStoreGet measures a whole Store.Get (timeout goroutine, header,
// checksum) with the default settings.
func BenchmarkStoreGet(b *testing.B) {
	k := newKeyring(b)
	ctx := context.Background()
	if err := k.Set(ctx, "pat", bytes.Repeat([]byte("p"), 300)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := k.Get(ctx, "pat"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReadOnlyKeyring: a Keyring without Items (the front's) reads what the direct reader can,
// reports ErrLocked where only an unlock prompt could read on, and refuses to write.
func TestReadOnlyKeyring(t *testing.T) {
	k := newKeyring(t)
	ctx := context.Background()
	if err := k.Set(ctx, "pat", []byte("secret")); err != nil {
		t.Fatal(err)
	}
	ro := NewKeyring(k.Service, 2*time.Second, nil)
	if runtime.GOOS == "linux" {
		if got, err := ro.Get(ctx, "pat"); err != nil || string(got) != "secret" {
			t.Fatalf("Get = %q, %v; want the value go-keyring wrote", got, err)
		}
		if _, err := ro.Get(ctx, "nothing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get of a missing key = %v, want ErrNotFound", err)
		}
	}
	if err := ro.Set(ctx, "pat", []byte("other")); !errors.Is(err, errReadOnly) {
		t.Errorf("Set = %v, want errReadOnly", err)
	}
	if err := ro.Delete(ctx, "pat"); !errors.Is(err, errReadOnly) {
		t.Errorf("Delete = %v, want errReadOnly", err)
	}
	defer lockCollection(t)()
	start := time.Now()
	if _, err := NewKeyring(k.Service, 2*time.Second, nil).Get(ctx, "pat"); !errors.Is(err, ErrLocked) {
		t.Errorf("Get on a locked keyring = %v, want ErrLocked", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Get on a locked keyring took %v: it must not wait for a prompt", took)
	}
}
