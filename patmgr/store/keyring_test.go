package store

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/keyringtest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
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
		v, err := keyring.Get(k.service, name)
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
	k.goos = "windows"
	ctx := context.Background()

	big := randomBytes(10_000) // 13,336 base64 characters: 6 parts of at most 2,560
	if err := k.Set(ctx, "cache", big); err != nil {
		t.Fatal(err)
	}
	parts := items(t, k, "cache")
	if len(parts) != 6 {
		t.Fatalf("stored in %d items, want 6", len(parts))
	}
	for i, p := range parts {
		if len(p) > 2560 {
			t.Errorf("item %d is %d bytes, over the Credential Manager's 2,560", i, len(p))
		}
	}
	if !strings.HasPrefix(parts[0], "azdo2:6:") {
		t.Fatalf("header %q does not count 6 parts", trunc(parts[0]))
	}
	if got, err := k.Get(ctx, "cache"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Get = %d bytes, %v", len(got), err)
	}
	// The limit is only for writing: a reader on another system reads the same items.
	other := NewKeyring(k.service, k.timeout)
	if got, err := other.Get(ctx, "cache"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Get without limit = %d bytes, %v", len(got), err)
	}

	// Shrinking removes the parts that are no longer used.
	small := randomBytes(3000)
	if err := k.Set(ctx, "cache", small); err != nil {
		t.Fatal(err)
	}
	if parts := items(t, k, "cache"); len(parts) != 2 {
		t.Fatalf("after shrinking: %d items, want 2", len(parts))
	}
	if _, err := keyring.Get(k.service, partName("cache", 2)); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("leftover part 2: %v", err)
	}
	if got, err := k.Get(ctx, "cache"); err != nil || !bytes.Equal(got, small) {
		t.Fatalf("Get after shrink = %d bytes, %v", len(got), err)
	}

	// Delete removes every part, including leftovers of an interrupted write.
	if err := keyring.Set(k.service, partName("cache", 2), "orphan"); err != nil {
		t.Fatal(err)
	}
	if err := k.Delete(ctx, "cache"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if _, err := keyring.Get(k.service, partName("cache", i)); !errors.Is(err, keyring.ErrNotFound) {
			t.Fatalf("part %d left after Delete: %v", i, err)
		}
	}
	if rest := items(t, k, "cache"); len(rest) != 0 {
		t.Fatalf("after Delete: %d items left", len(rest))
	}
}

func TestKeyringTornWrite(t *testing.T) {
	k := newKeyring(t)
	k.goos = "windows"
	ctx := context.Background()
	a, b := randomBytes(6000), randomBytes(6000) // 4 parts each
	if err := k.Set(ctx, "v", a); err != nil {
		t.Fatal(err)
	}
	partsA := items(t, k, "v")
	other := newKeyring(t)
	other.goos = "windows"
	if err := other.Set(ctx, "v", b); err != nil {
		t.Fatal(err)
	}
	partsB := items(t, other, "v")

	check := func(what string) {
		t.Helper()
		got, err := k.Get(ctx, "v")
		if !errors.Is(err, ErrCorrupt) || !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: Get = %d bytes, %v; want a torn-value error", what, len(got), err)
		}
	}
	// A second writer (another process) has replaced part 1 but not yet the head.
	if err := keyring.Set(k.service, partName("v", 1), partsB[1]); err != nil {
		t.Fatal(err)
	}
	check("mixed parts")
	// A part is missing (a writer is shrinking or deleting the value).
	if err := keyring.Set(k.service, partName("v", 1), partsA[1]); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Get(ctx, "v"); err != nil || !bytes.Equal(got, a) {
		t.Fatalf("restored value: %d bytes, %v", len(got), err)
	}
	if err := keyring.Delete(k.service, partName("v", 2)); err != nil {
		t.Fatal(err)
	}
	check("missing part")
	// Something that is not ours at all.
	if err := keyring.Set(k.service, "v", "plain text"); err != nil {
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

// TestKeyringLocked: with the login collection locked and no prompter, a read ends in a clear
// error or the timeout, never a hang.
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
	// A Keyring of its own: the timed-out call leaves its goroutine behind, holding the lock.
	_, err := NewKeyring(k.service, time.Second).Get(ctx, "pat")
	t.Logf("locked: %v", err)
	if !errors.Is(err, ErrLocked) && !errors.Is(err, ErrTimeout) {
		t.Errorf("Get on a locked keyring = %v, want ErrLocked or ErrTimeout", err)
	}
}

// BenchmarkStoreGet measures a whole Store.Get of a PAT-sized value.
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
