package store

import (
	"errors"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

// TestReadQuicklyAgreesWithGoKeyring: readQuickly reads what go-keyring's Get reads, and leaves
// to go-keyring what it cannot find, and what it could only read by unlocking.
func TestReadQuicklyAgreesWithGoKeyring(t *testing.T) {
	k := newKeyring(t)
	for _, value := range []string{"secret", "", "ünïcödé ✓", strings.Repeat("p", 4000), "line\nbreak\x00nul"} {
		if err := keyring.Set(k.service, "user", value); err != nil {
			t.Fatal(err)
		}
		want, err := keyring.Get(k.service, "user")
		if err != nil || want != value {
			t.Fatalf("go-keyring read %q back as %q, %v", value, want, err)
		}
		if got, ok := readQuickly(k.service, "user"); !ok || got != want {
			t.Errorf("readQuickly = %q, %v; go-keyring reads %q", got, ok, want)
		}
	}
	if _, err := keyring.Get(k.service, "nobody"); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("go-keyring on a missing item: %v", err)
	}
	if got, ok := readQuickly(k.service, "nobody"); ok {
		t.Errorf("readQuickly found %q for a missing item", got)
	}
	unlock := lockCollection(t)
	defer unlock()
	if got, ok := readQuickly(k.service, "user"); ok {
		t.Errorf("readQuickly read %q from a locked collection", got)
	}
}
