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
)

// Value encoding in the keyring
//
// go-keyring stores strings, and the macOS backend mangles some of them, so
// every value is stored as standard base64 of its bytes. Uniform encoding
// keeps arbitrary bytes (an MSAL cache, JSON, anything) intact and lets one
// code path handle every value; the cost is a third more bytes, which only
// matters for the part limits below.
//
// A value is one or more keyring items (go-keyring "users") of one service:
//
//	key    = "azdo2:<n>:<sum>:" + first piece of the base64 text
//	key#1  = next piece            (only when n > 1)
//	...
//	key#n-1 = last piece
//
// ('#' and '%' inside keys are %-escaped in item names; see itemName.)
//
// <n> is the number of items and <sum> the 64-bit FNV-1a hash (hex) of the
// decoded value. It tells the parts of one write from a mix of two, which is
// all it is for: whoever can write the keyring can write any value, so a
// cryptographic hash would protect nothing more, and linking one costs every
// run tens of microseconds of package initialisation ("azdo1:" values used
// SHA-256; they read as corrupt, so they are replaced). Pieces are split so every item's string, header
// included, fits PartLimit. A reader that finds a missing piece or a checksum
// mismatch (a concurrent writer is half-way through) retries briefly and then
// reports a tornError rather than returning a mix of two values.
const (
	headerPrefix = "azdo2:"
	partSep      = "#"
	sumLen       = 16 // hex characters of the checksum in the header
	minPartLimit = 64 // below this the header would not leave room for data
)

// defaultPartLimit is the per-item budget (the string handed to go-keyring)
// for each OS. Windows refuses secrets over 2,560 bytes; macOS's security tool
// takes about 3,000 bytes of service+user+secret, and go-keyring base64s the
// secret once more there, so 2,000 leaves room for both. The Secret Service
// has no practical limit, so Linux does not split.
func defaultPartLimit() int {
	switch runtime.GOOS {
	case "windows", "darwin":
		return 2000
	}
	return 0
}

// Keyring is the Store backed by the OS keyring (Secret Service on Linux,
// Keychain on macOS, Credential Manager on Windows). Its items are read and
// written through Items (go-keyring's, in package oskeyring); on Linux most
// reads take the direct reader instead.
// Create it with NewKeyring; the exported fields may be adjusted before first use.
type Keyring struct {
	// Service is the keyring service name shared by all keys.
	Service string
	// Timeout bounds every Store call (all keyring round trips of it, and
	// any wait for this process's other calls); 0 means unbounded.
	// go-keyring has no timeout and a locked collection without a prompter
	// never answers, so this is what keeps the helper from hanging git.
	Timeout time.Duration
	// PartLimit is the largest string stored in one keyring item, header
	// included; longer values are split into parts. 0 means never split.
	PartLimit int
	// DirectRead makes Get use the direct D-Bus reader on Linux (fewer round
	// trips than go-keyring; see secretservice_linux.go). Ignored on other systems.
	DirectRead bool
	// Items does what the direct reader does not: writes, deletes, and reads
	// that need an unlock prompt. nil makes the Keyring read-only, for the
	// front git runs on every get, which hands anything more to the full
	// program: a locked item or collection is then ErrLocked, never a prompt
	// (two processes asking for one unlock would only confuse the user).
	Items Items

	// mu serialises this process's writers so that the parts of two values
	// never interleave, and keeps its readers from seeing a write half done.
	// Other processes are detected by the checksum instead.
	mu sync.RWMutex
}

// DefaultTimeout is used by NewKeyring when given no positive timeout:
// an unbounded keyring call could hang git forever.
const DefaultTimeout = 5 * time.Second

// Items are the raw item operations of an OS keyring: one string per
// service and user. Errors match ErrNotFound, ErrUnavailable or ErrLocked
// where they mean that.
type Items interface {
	Get(service, user string) (string, error)
	Set(service, user, value string) error
	Delete(service, user string) error
}

// NewKeyring returns a keyring Store for service, with every call bounded by
// timeout (DefaultTimeout if timeout <= 0), over items (nil: read-only, see
// Keyring.Items). The result is a *Keyring.
func NewKeyring(service string, timeout time.Duration, items Items) Store {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Keyring{
		Service:    service,
		Timeout:    timeout,
		PartLimit:  defaultPartLimit(),
		DirectRead: runtime.GOOS == "linux",
		Items:      items,
	}
}

// Describe names the keyring for status and doctor output.
func (k *Keyring) Describe() string {
	return fmt.Sprintf("%s, service %q", keyringName(), k.Service)
}

// Get returns the value of key, reassembling and verifying its parts.
func (k *Keyring) Get(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	var out []byte
	err := k.run(ctx, "Get", func(ctx context.Context) error {
		k.mu.RLock()
		defer k.mu.RUnlock()
		var err error
		for attempt := 0; ; attempt++ {
			out, err = k.readOnce(ctx, key)
			var torn *tornError
			if !errors.As(err, &torn) || attempt == 2 {
				return err
			}
			// A writer may be between its parts; give it a moment.
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Duration(20*(attempt+1)) * time.Millisecond):
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (k *Keyring) readOnce(ctx context.Context, key string) ([]byte, error) {
	head, err := k.rawGet(ctx, itemName(key))
	if err != nil {
		return nil, err
	}
	n, sum, text, err := parseHead(head)
	if err != nil {
		return nil, &tornError{key: key, detail: err.Error()}
	}
	var b strings.Builder
	b.WriteString(text)
	for i := 1; i < n; i++ {
		part, err := k.rawGet(ctx, partName(key, i))
		if errors.Is(err, ErrNotFound) {
			return nil, &tornError{key: key, detail: fmt.Sprintf("part %d of %d is missing", i, n)}
		}
		if err != nil {
			return nil, err
		}
		b.WriteString(part)
	}
	value, err := base64.StdEncoding.DecodeString(b.String())
	if err != nil {
		return nil, &tornError{key: key, detail: "not valid base64"}
	}
	if checksum(value) != sum {
		return nil, &tornError{key: key, detail: "checksum mismatch"}
	}
	return value, nil
}

// Set stores value under key. Parts after the first are written before the
// first (which carries the count and checksum), so a reader never sees a new
// header pointing at parts that do not exist yet; parts left over from a
// longer previous value are removed afterwards.
func (k *Keyring) Set(ctx context.Context, key string, value []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	pieces, err := k.split(value)
	if err != nil {
		return err
	}
	return k.run(ctx, "Set", func(ctx context.Context) error {
		k.mu.Lock()
		defer k.mu.Unlock()
		for i := len(pieces) - 1; i >= 1; i-- {
			if err := k.rawSet(partName(key, i), pieces[i]); err != nil {
				return err
			}
		}
		if err := k.rawSet(itemName(key), pieces[0]); err != nil {
			return err
		}
		return k.deleteParts(ctx, key, len(pieces))
	})
}

// Delete removes key and all its parts. The first item goes first so that
// readers stop finding the value at once.
func (k *Keyring) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return k.run(ctx, "Delete", func(ctx context.Context) error {
		k.mu.Lock()
		defer k.mu.Unlock()
		if err := k.rawDelete(itemName(key)); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		return k.deleteParts(ctx, key, 1)
	})
}

// deleteParts removes key#from, key#from+1, ... up to the first one that does
// not exist. Parts are always written as a contiguous run, so this also
// collects the leftovers of an interrupted write.
func (k *Keyring) deleteParts(ctx context.Context, key string, from int) error {
	for i := from; ; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := k.rawDelete(partName(key, i))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// split encodes value and cuts it into the strings to store, the first one
// with the header.
func (k *Keyring) split(value []byte) ([]string, error) {
	text := base64.StdEncoding.EncodeToString(value)
	sum := checksum(value)
	limit := k.PartLimit
	if limit > 0 && limit < minPartLimit {
		return nil, fmt.Errorf("keyring part limit %d is below the minimum %d", limit, minPartLimit)
	}
	if limit <= 0 || len(header(1, sum))+len(text) <= limit {
		return []string{header(1, sum) + text}, nil
	}
	// The header's length depends on the number of parts, which depends on
	// the header's length: iterate until the count is stable (twice at most
	// in practice, as the count only grows by a digit now and then).
	n := 2
	for {
		first := limit - len(header(n, sum))
		rest := len(text) - first
		need := 1 + (rest+limit-1)/limit
		if need == n {
			break
		}
		n = need
	}
	first := limit - len(header(n, sum))
	pieces := []string{header(n, sum) + text[:first]}
	for off := first; off < len(text); off += limit {
		end := min(off+limit, len(text))
		pieces = append(pieces, text[off:end])
	}
	if len(pieces) != n {
		return nil, fmt.Errorf("internal error: split into %d parts, header says %d", len(pieces), n)
	}
	return pieces, nil
}

func header(n int, sum string) string {
	return headerPrefix + strconv.Itoa(n) + ":" + sum + ":"
}

func parseHead(s string) (n int, sum, text string, err error) {
	rest, ok := strings.CutPrefix(s, headerPrefix)
	if !ok {
		return 0, "", "", errors.New("not written by git-credential-azdo (no header)")
	}
	count, rest, ok1 := strings.Cut(rest, ":")
	sum, text, ok2 := strings.Cut(rest, ":")
	n, err = strconv.Atoi(count)
	if !ok1 || !ok2 || err != nil || n < 1 || len(sum) != sumLen {
		return 0, "", "", errors.New("malformed header")
	}
	return n, sum, text, nil
}

// itemName is the keyring user name of a key's first item. '#' separates
// part numbers, so '#' (and '%', the escape character) in keys are escaped:
// key "a#1" and part 1 of key "a" must never be the same item.
func itemName(key string) string {
	if !strings.ContainsAny(key, "#%") {
		return key
	}
	return strings.NewReplacer("%", "%25", "#", "%23").Replace(key)
}

// partName is the keyring user name of part i (i >= 1) of key.
func partName(key string, i int) string { return itemName(key) + partSep + strconv.Itoa(i) }

func checksum(b []byte) string {
	h := fnv.New64a()
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// errVanished: the Secret Service left the bus in the middle of a call, or between the session a
// call opened and its use of it. gnome-keyring aborts
// when many short-lived clients come and go at once (an upstream bug), and the bus starts it
// again on the next call, so such a call is made once more, on the same store.
var errVanished = errors.New("the Secret Service went away in the middle of a call")

// retryVanished runs op, and once more if the Secret Service vanished during it.
func retryVanished(op func() error) error {
	err := op()
	if errors.Is(err, errVanished) {
		err = op()
	}
	return err
}

// rawGet reads one item.
func (k *Keyring) rawGet(ctx context.Context, user string) (value string, err error) {
	if err := preflight(); err != nil {
		return "", err
	}
	err = retryVanished(func() (err error) {
		if k.DirectRead {
			var ok bool
			if value, ok, err = directGet(ctx, k.Service, user); ok {
				return err
			}
			// Not handled by the direct reader (locked item or collection,
			// unusual collection layout): Items reads the same item and may
			// show an unlock prompt, exactly as without DirectRead.
		}
		if k.Items == nil {
			return ErrLocked
		}
		value, err = k.Items.Get(k.Service, user)
		return err
	})
	return value, err
}

// errReadOnly: a write to a Keyring without Items, which only the front has, and the front
// hands every write to the full program.
var errReadOnly = errors.New("internal error: this keyring store is read-only")

func (k *Keyring) rawSet(user, value string) error {
	return k.rawWrite(func() error { return k.Items.Set(k.Service, user, value) })
}

func (k *Keyring) rawDelete(user string) error {
	return k.rawWrite(func() error { return k.Items.Delete(k.Service, user) })
}

func (k *Keyring) rawWrite(op func() error) error {
	if err := preflight(); err != nil {
		return err
	}
	if k.Items == nil {
		return errReadOnly
	}
	return retryVanished(op)
}

// run executes fn in a goroutine and gives up after k.Timeout or when ctx
// ends. The goroutine may stay blocked in go-keyring (it cannot be
// interrupted); the helper is a short-lived process, so that leak is accepted
// in exchange for never hanging git.
func (k *Keyring) run(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	parent := ctx
	var cancel context.CancelFunc
	if k.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, k.Timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()
	done := make(chan error, 1)
	go func() {
		// go-keyring dereferences a nil prompt result when the Secret Service cannot show an
		// unlock prompt (no display): that is a locked keyring, not a reason to crash git.
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("%w (the Secret Service failed while asking to unlock: %v)", ErrLocked, r)
			}
		}()
		done <- fn(ctx)
	}()
	select {
	case err := <-done:
		if err != nil && ctx.Err() != nil && parent.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return &timeoutError{d: k.Timeout, op: op}
		}
		return err
	case <-ctx.Done():
		if err := parent.Err(); err != nil {
			return fmt.Errorf("keyring %s: %w", op, err)
		}
		return &timeoutError{d: k.Timeout, op: op}
	}
}
