package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/keyringtest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
	"github.com/zalando/go-keyring"
)

// envChild selects a child-process test (see child_test.go). Children run
// without the shared Secret Service: they set up the environment they test.
const envChild = "STORE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envChild) != "" {
		os.Exit(m.Run())
	}
	keyringtest.Main(m)
}

var serviceSeq struct {
	sync.Mutex
	n int
}

// newKeyring returns a keyring store on a service name of its own, so tests
// do not see each other's items.
func newKeyring(t testing.TB) *Keyring {
	t.Helper()
	keyringtest.Require(t)
	serviceSeq.Lock()
	serviceSeq.n++
	n := serviceSeq.n
	serviceSeq.Unlock()
	k := NewKeyring(fmt.Sprintf("azdo-test-%d-%d", os.Getpid(), n), 5*time.Second)
	// gnome-keyring rewrites its whole file on every change: keep it small.
	t.Cleanup(func() { _ = keyring.DeleteAll(k.service) })
	return k
}

// newKeyringAs is newKeyring splitting values as on goos.
func newKeyringAs(goos string) func(t testing.TB) Store {
	return func(t testing.TB) Store {
		if runtime.GOOS == "windows" && goos == "darwin" {
			t.Skip("parts split as on macOS are larger than the Credential Manager holds")
		}
		k := newKeyring(t)
		k.goos = goos
		return k
	}
}

func newFile(t testing.TB) *File {
	t.Helper()
	s, err := NewFile(testenv.TempDir(t) + "/state/secrets")
	if err != nil {
		t.Fatal(err)
	}
	return s.(*File)
}

// implementations lists every Store for table-driven tests.
var implementations = []struct {
	name string
	new  func(t testing.TB) Store
}{
	{"keyring", func(t testing.TB) Store { return newKeyring(t) }},
	{"keyring-split-as-on-windows", newKeyringAs("windows")},
	{"keyring-split-as-on-macos", newKeyringAs("darwin")},
	{"file", func(t testing.TB) Store { return newFile(t) }},
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func allBytes() []byte {
	b := make([]byte, 0, 512)
	for i := 0; i < 256; i++ {
		b = append(b, byte(i))
	}
	return append(b, b...)
}

func TestRoundTrip(t *testing.T) {
	values := []struct {
		name  string
		value []byte
	}{
		{"empty", []byte{}},
		{"json", []byte(`{"authorizationId":"x","token":"abc","validTo":"2026-01-01T00:00:00Z"}` + "\n")},
		{"all-bytes", allBytes()},
		{"nul-and-newlines", []byte("a\x00b\r\nc\n")},
		{"unicode", []byte("pässwörd ✓ 🔑")},
		{"msal-cache-size", randomBytes(40_000)},
	}
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			s := impl.new(t)
			ctx := context.Background()
			if s.Describe() == "" {
				t.Error("empty Describe")
			}
			if _, err := s.Get(ctx, "absent"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get(absent) = %v, want ErrNotFound", err)
			}
			if err := s.Delete(ctx, "absent"); err != nil {
				t.Fatalf("Delete(absent) = %v, want nil", err)
			}
			for _, v := range values {
				key := "pat:contoso/" + v.name
				if err := s.Set(ctx, key, v.value); err != nil {
					t.Fatalf("Set %s: %v", v.name, err)
				}
				got, err := s.Get(ctx, key)
				if err != nil || !bytes.Equal(got, v.value) {
					t.Fatalf("Get %s = %d bytes, %v; want %d bytes", v.name, len(got), err, len(v.value))
				}
			}
			// Overwrite with a shorter and then a longer value.
			for _, v := range [][]byte{[]byte("short"), randomBytes(3000), []byte("x")} {
				if err := s.Set(ctx, "k", v); err != nil {
					t.Fatal(err)
				}
				if got, err := s.Get(ctx, "k"); err != nil || !bytes.Equal(got, v) {
					t.Fatalf("after overwrite Get = %d bytes, %v; want %d", len(got), err, len(v))
				}
			}
			if err := s.Delete(ctx, "k"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, "k"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after Delete = %v, want ErrNotFound", err)
			}
			if err := s.Delete(ctx, "k"); err != nil {
				t.Fatalf("second Delete = %v", err)
			}
			// Other keys are untouched.
			if got, err := s.Get(ctx, "pat:contoso/json"); err != nil || !bytes.Equal(got, values[1].value) {
				t.Fatalf("other key after Delete: %q, %v", got, err)
			}
		})
	}
}

func TestInvalidKeys(t *testing.T) {
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			s := impl.new(t)
			for _, key := range []string{"", "line\nbreak", "tab\there"} {
				if err := s.Set(context.Background(), key, []byte("v")); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("Set(%q) = %v, want ErrInvalidKey", key, err)
				}
				if _, err := s.Get(context.Background(), key); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("Get(%q) = %v, want ErrInvalidKey", key, err)
				}
			}
		})
	}
}

// TestKeysWithHash: '#' is allowed in keys (records use "pat:host/org#user")
// and such a key never collides with the parts of another key's value.
func TestKeysWithHash(t *testing.T) {
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			s := impl.new(t)
			ctx := context.Background()
			long := randomBytes(5000)
			vals := map[string][]byte{
				"pat:h/o": long, "pat:h/o#1": []byte("one"), "pat:h/o%231": []byte("escaped-looking"),
				"pat:h/o#alice@contoso.example": []byte("alice"),
			}
			for key, v := range vals {
				if err := s.Set(ctx, key, v); err != nil {
					t.Fatal(err)
				}
			}
			for key, v := range vals {
				if got, err := s.Get(ctx, key); err != nil || !bytes.Equal(got, v) {
					t.Fatalf("Get(%q) = %d bytes, %v; want %d bytes", key, len(got), err, len(v))
				}
			}
			if err := s.Delete(ctx, "pat:h/o"); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Get(ctx, "pat:h/o#1"); err != nil || string(got) != "one" {
				t.Fatalf("deleting a chunked key touched key %q: %q, %v", "pat:h/o#1", got, err)
			}
		})
	}
}

// TestConcurrentGoroutines: 8 goroutines writing their own keys and one
// shared key through one Store; nothing is lost and every read is whole.
func TestConcurrentGoroutines(t *testing.T) {
	testenv.SkipUnderWine(t, "Wine 8.0 crashes now and then under these concurrent calls (an access violation in its ntdll that it cannot dispatch)")
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			s := impl.new(t)
			ctx := context.Background()
			var wg sync.WaitGroup
			errs := make(chan error, 100)
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 5; i++ {
						key := fmt.Sprintf("g%d-%d", g, i)
						val := bytes.Repeat([]byte{byte(g)}, 2000+g) // in two parts where values are split
						if err := s.Set(ctx, key, val); err != nil {
							errs <- err
							return
						}
						if err := s.Set(ctx, "shared", val); err != nil {
							errs <- err
							return
						}
						got, err := s.Get(ctx, "shared")
						if err != nil {
							errs <- fmt.Errorf("Get shared: %w", err)
							return
						}
						if len(got) < 2000 || !bytes.Equal(got, bytes.Repeat(got[:1], len(got))) {
							errs <- fmt.Errorf("mixed value read: %q", got)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			for g := 0; g < 8; g++ {
				for i := 0; i < 5; i++ {
					if _, err := s.Get(ctx, fmt.Sprintf("g%d-%d", g, i)); err != nil {
						t.Fatalf("lost key g%d-%d: %v", g, i, err)
					}
				}
			}
		})
	}
}

func TestContextCancelled(t *testing.T) {
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			s := impl.new(t)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
				t.Errorf("Get with cancelled ctx = %v", err)
			}
			if err := s.Set(ctx, "k", []byte("v")); !errors.Is(err, context.Canceled) {
				t.Errorf("Set with cancelled ctx = %v", err)
			}
		})
	}
}

func TestErrorMessagesNameTheFix(t *testing.T) {
	for _, err := range []error{ErrUnavailable, ErrLocked} {
		if !strings.Contains(err.Error(), "--store=file") && !strings.Contains(err.Error(), "doctor") {
			t.Errorf("message gives no way out: %v", err)
		}
	}
}
