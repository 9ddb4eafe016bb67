package store

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zalando/go-keyring"
)

// A value is kept as one or more go-keyring items ("users") of one service, its bytes in
// standard base64 so that any bytes survive every backend alike:
//
//	key     = "azdo2:<n>:<sum>:" + the base64 text, up to the item size limit
//	key#1   = the text that follows   (only when n > 1)
//	...
//	key#n-1 = the rest
//
// ('#' and '%' in keys are %-escaped in item names; see itemName.) <n> counts the items and
// <sum> is the 64-bit FNV-1a hash (hex) of the value. It tells the parts of one write from a mix
// of two, which is all it is for: whoever can write the keyring can write any value, so a
// cryptographic hash would protect nothing more.
const headerPrefix = "azdo2:"

// Keyring is the Store in the OS keyring, through go-keyring: the Secret Service on Linux, the
// Keychain on macOS, the Credential Manager on Windows.
type Keyring struct {
	service string
	// timeout bounds each call: go-keyring has none, and a locked collection without a
	// prompter never answers.
	timeout time.Duration
	// goos names the system whose item size limit applies (see partLimit).
	goos string
	// mu keeps this process's writers from interleaving their parts, and its readers from a
	// write half done. Other processes' are told apart by the checksum.
	mu sync.RWMutex
}

// NewKeyring returns the keyring Store of service, each call bounded by timeout.
func NewKeyring(service string, timeout time.Duration) *Keyring {
	return &Keyring{service: service, timeout: timeout, goos: runtime.GOOS}
}

// Describe names the keyring for status and doctor output.
func (k *Keyring) Describe() string { return fmt.Sprintf("%s, service %q", keyringName(), k.service) }

// Get returns the value of key, reassembled from its parts and checked.
func (k *Keyring) Get(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	var value []byte
	err := k.run(ctx, "Get", func(ctx context.Context) (err error) {
		k.mu.RLock()
		defer k.mu.RUnlock()
		for wait := 20 * time.Millisecond; ; wait *= 2 {
			value, err = k.read(key)
			if !errors.As(err, new(*tornError)) || wait > 80*time.Millisecond {
				return err
			}
			// Another process may be between the parts of a write: give it a moment.
			select {
			case <-ctx.Done():
				return err
			case <-time.After(wait):
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return value, nil
}

func (k *Keyring) read(key string) ([]byte, error) {
	head, err := k.get(itemName(key))
	if err != nil {
		return nil, err
	}
	rest, ok := strings.CutPrefix(head, headerPrefix)
	count, rest, ok1 := strings.Cut(rest, ":")
	sum, text, ok2 := strings.Cut(rest, ":")
	n, err := strconv.Atoi(count)
	if !ok || !ok1 || !ok2 || err != nil || n < 1 {
		return nil, &tornError{key: key, detail: "not written by git-credential-azdo"}
	}
	for i := 1; i < n; i++ {
		part, err := k.get(partName(key, i))
		if errors.Is(err, ErrNotFound) {
			return nil, &tornError{key: key, detail: fmt.Sprintf("part %d of %d is missing", i, n)}
		}
		if err != nil {
			return nil, err
		}
		text += part
	}
	value, err := base64.StdEncoding.DecodeString(text)
	if err != nil || checksum(value) != sum {
		return nil, &tornError{key: key, detail: "checksum mismatch"}
	}
	return value, nil
}

// Set stores value under key. The parts after the first go first, so that a reader never finds
// a header whose parts are not there yet; parts a longer value left behind go last.
func (k *Keyring) Set(ctx context.Context, key string, value []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	parts, err := split(k.goos, k.service, key, value)
	if err != nil {
		return err
	}
	return k.run(ctx, "Set", func(ctx context.Context) error {
		k.mu.Lock()
		defer k.mu.Unlock()
		for i := len(parts) - 1; i >= 1; i-- {
			if err := k.set(partName(key, i), parts[i]); err != nil {
				return err
			}
		}
		if err := k.set(itemName(key), parts[0]); err != nil {
			return err
		}
		return k.deleteParts(ctx, key, len(parts))
	})
}

// Delete removes key and its parts, the first item first so that readers stop finding the
// value at once.
func (k *Keyring) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return k.run(ctx, "Delete", func(ctx context.Context) error {
		k.mu.Lock()
		defer k.mu.Unlock()
		if err := k.del(itemName(key)); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return k.deleteParts(ctx, key, 1)
	})
}

// deleteParts removes key#from, key#from+1, ... up to the first that does not exist. Parts are
// written as a contiguous run, so this also collects what an interrupted write left.
func (k *Keyring) deleteParts(ctx context.Context, key string, from int) error {
	for i := from; ctx.Err() == nil; i++ {
		if err := k.del(partName(key, i)); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		}
	}
	return ctx.Err()
}

// split encodes value into the strings to store under key, the first with the header, each
// within the item size limit of goos.
func split(goos, service, key string, value []byte) ([]string, error) {
	text, sum := base64.StdEncoding.EncodeToString(value), checksum(value)
	for n := 1; ; n++ {
		s := headerPrefix + strconv.Itoa(n) + ":" + sum + ":" + text
		// partName(key, n) is longer than the name of each of n parts.
		limit := partLimit(goos, service, partName(key, n))
		if limit <= 0 {
			return []string{s}, nil
		}
		if limit <= len(s)-len(text) {
			return nil, fmt.Errorf("%w: %q is too long for the keyring", ErrInvalidKey, key)
		}
		if len(s) > n*limit {
			continue
		}
		parts := make([]string, 0, n)
		for len(s) > limit {
			parts, s = append(parts, s[:limit]), s[limit:]
		}
		return append(parts, s), nil
	}
}

// partLimit is the longest string go-keyring can store in one item of service and user on
// goos, or 0 for no limit (the Secret Service).
func partLimit(goos, service, user string) int {
	switch goos {
	case "windows":
		// The Credential Manager's limit on a credential's blob, which go-keyring fills with
		// the string's bytes.
		return 2560
	case "darwin":
		// go-keyring writes one command line of at most 4,096 bytes to security(1): service,
		// user and "go-keyring-base64:" plus the base64 of the string, each shell-quoted (at
		// worst in quotes, with each ' taking 5 bytes).
		quoted := func(s string) int { return len(s) + 4*strings.Count(s, "'") }
		room := 4096 - len("add-generic-password -U -s '' -a '' -w 'go-keyring-base64:'\n") - quoted(service) - quoted(user)
		return max(room/4*3, 1)
	}
	return 0
}

// itemName is the keyring user of a key's first item. '#' introduces part numbers, so '#' (and
// '%', the escape) in keys are escaped: key "a#1" and part 1 of key "a" are never one item.
func itemName(key string) string { return nameEscaper.Replace(key) }

var nameEscaper = strings.NewReplacer("%", "%25", "#", "%23")

// partName is the keyring user of part i (i >= 1) of key.
func partName(key string, i int) string { return itemName(key) + "#" + strconv.Itoa(i) }

func checksum(b []byte) string {
	h := fnv.New64a()
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func (k *Keyring) get(user string) (value string, err error) {
	err = call(func() (err error) {
		var ok bool
		if value, ok = readQuickly(k.service, user); !ok {
			value, err = keyring.Get(k.service, user)
		}
		return err
	})
	return value, err
}

func (k *Keyring) set(user, value string) error {
	return call(func() error { return keyring.Set(k.service, user, value) })
}

func (k *Keyring) del(user string) error {
	return call(func() error { return keyring.Delete(k.service, user) })
}

// errVanished: the Secret Service left the bus during a call. gnome-keyring aborts when many
// short-lived clients come and go at once (an upstream bug) and the bus starts it again, so
// such a call is made once more.
var errVanished = errors.New("the Secret Service went away in the middle of a call")

// call makes one go-keyring call, never letting it autolaunch a bus, with its error mapped to
// this package's sentinels (the original kept in the chain).
func call(op func() error) error {
	if err := preflight(); err != nil {
		return err
	}
	err := mapErr(op())
	if errors.Is(err, errVanished) {
		err = mapErr(op())
	}
	return err
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return fmt.Errorf("internal error: the keyring refused a part of a value as too big: %w", err)
	}
	return mapPlatformErr(err)
}

// run calls fn in a goroutine and gives up when k.timeout passes or ctx ends. go-keyring cannot
// be interrupted, so the goroutine may stay blocked: the helper is a short-lived process, and
// that leak is the price of never hanging git.
func (k *Keyring) run(ctx context.Context, op string, fn func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("waiting for the %s to answer a %s: %w", keyringName(), op, err)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		// go-keyring dereferences a nil prompt result when the Secret Service cannot show an
		// unlock prompt: that is a locked keyring, not a reason to crash git.
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("%w (the Secret Service failed while asking to unlock: %v)", ErrLocked, r)
			}
		}()
		done <- fn(ctx)
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) || parent.Err() != nil {
			return err
		}
	case <-ctx.Done():
		if err := parent.Err(); err != nil {
			return fmt.Errorf("waiting for the %s to answer a %s: %w", keyringName(), op, err)
		}
	}
	return fmt.Errorf("%w within %s during %s (is it locked, or waiting for a password prompt?); "+
		"unlock it, raise --keyring-timeout, or opt in to the file store with --store=file; 'git-credential-azdo doctor' shows details",
		ErrTimeout, k.timeout, op)
}
