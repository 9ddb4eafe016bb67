package cli

// Shared pieces of the hardening tests (faults, kills, hostile input, hygiene, keyring faults):
// running git-credential-azdo directly with a credential request on stdin, reading what it
// stored, and checking the one-clear-line contract.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdo"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// result is what a command run in a test printed, and how it ended.
type result struct {
	stdout, stderr string
	code           int // exit status; -1 when it did not exit normally
	err            error
}

// host is the emulator's host:port, as git would send it.
func (w *world) host() string { return strings.TrimPrefix(w.srv.URL, "https://") }

// flags are the settings the emulator's gitconfig puts on the helper line.
func (w *world) flags() []string {
	return []string{"--service-url=" + w.srv.URL, "--authority=" + w.srv.URL, "--ca-file=" + w.srv.CAFile}
}

// request is what git sends for the emulator's demo repository (useHttpPath is on).
func (w *world) request(extra ...string) []byte {
	s := "protocol=https\nhost=" + w.host() + "\npath=" + w.srv.Org + "/" + w.srv.Project + "/_git/" + w.srv.Repo + "\n"
	for _, e := range extra {
		s += e + "\n"
	}
	return []byte(s + "\n")
}

// azdo runs git-credential-azdo with the emulator's settings, args and stdin.
func (w *world) azdo(stdin []byte, env []string, args ...string) result {
	w.t.Helper()
	return runProcess(slices.Concat(w.env, env), "", string(stdin), w.bin, append(w.flags(), args...)...)
}

// runProcess runs name with env (where a name is set twice, the last value wins), in dir ("":
// this one) with stdin, under a deadline, so that a hang fails the test instead of stalling the
// suite.
func runProcess(env []string, dir, stdin, name string, args ...string) result {
	return runWithin(2*time.Minute, env, dir, stdin, name, args...)
}

// runWithin is runProcess with the deadline limit.
func runWithin(limit time.Duration, env []string, dir, stdin, name string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir, cmd.Stdin = env, dir, strings.NewReader(stdin)
	// The deadline kills only name: a helper that git or sh started would keep their output
	// open, and Run would wait for it.
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), err: err, code: -1}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	return r
}

// get runs `get` for the demo repository.
func (w *world) get(env ...string) result {
	w.t.Helper()
	return w.azdo(w.request(), env, "get")
}

// password is the password= value of a get's answer, or "".
func (r result) password() string {
	for _, l := range strings.Split(r.stdout, "\n") {
		if v, ok := strings.CutPrefix(l, "password="); ok {
			return v
		}
	}
	return ""
}

// deviceCodePrompt marks MSAL's device-code message, which the helper relays on stderr on purpose.
const deviceCodePrompt = "To sign in, use a web browser"

// errorLines are the stderr lines that are not the device-code prompt nor trace output.
func (r result) errorLines() []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(r.stderr, "\n"), "\n") {
		if l == "" || strings.Contains(l, deviceCodePrompt) || strings.HasPrefix(l, prog+": trace: ") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// unprefixedLine returns the first stderr line that lacks the program's prefix: a panic, a race
// report or a library's own output.
func (r result) unprefixedLine() (string, bool) {
	for _, l := range strings.Split(strings.TrimRight(r.stderr, "\n"), "\n") {
		if l != "" && !strings.HasPrefix(l, prog+": ") {
			return l, true
		}
	}
	return "", false
}

// clearOutcome checks the contract of one get: either a credential on stdout and exit 0, or a
// non-zero exit with exactly one clear `git-credential-azdo:` line and no secret on stdout.
// Every stderr line, prompt included, must carry the program's prefix (a panic, a race report
// or a library's own output would not). It returns whether the get succeeded.
func clearOutcome(t testing.TB, r result) (succeeded bool, problem string) {
	t.Helper()
	if l, ok := r.unprefixedLine(); ok {
		return false, "stderr line without the program prefix: " + l
	}
	lines := r.errorLines()
	if r.code == 0 {
		if r.password() == "" {
			return false, "exit 0 without a password on stdout: " + r.stdout
		}
		return true, ""
	}
	if r.code < 0 {
		return false, "did not exit: " + r.err.Error()
	}
	if r.password() != "" {
		return false, "failed but printed a password"
	}
	if len(lines) != 1 {
		return false, "want exactly one error line, got " + strings.Join(lines, " | ")
	}
	return false, ""
}

// timeoutHole, in what a run must print, stands for the --timeout withMoreTimeUntil gave it.
const timeoutHole = "%TIMEOUT%"

// withMoreTimeUntil runs attempt with AZDO_TIMEOUT at 10 s, then 5 s more each time, until a
// run reaches what is under test before its --timeout ends it, and returns that run and its
// timeout. A loaded machine may spend the first timeout getting there, which says nothing of
// what is tested. It stays under azdo.RequestTimeout: each request's own limit would otherwise
// end a wait at the endpoint before --timeout does.
func withMoreTimeUntil(t *testing.T, attempt func(timeoutEnv string) (r result, reached bool)) (result, time.Duration) {
	t.Helper()
	const step = 5 * time.Second
	for timeout := 2 * step; ; timeout += step {
		r, reached := attempt("AZDO_TIMEOUT=" + timeout.String())
		if reached || timeout+step >= azdo.RequestTimeout {
			return r, timeout
		}
		t.Logf("--timeout %s ended the run before it got there; again with %s more", timeout, step)
	}
}

// secretStore opens the same Secret Service the helpers in the world use (keyringtest's).
func secretStore() store.Store { return store.NewKeyring("git-credential-azdo", 10*time.Second) }

// recordKey is the store key of the world's demo organisation.
func (w *world) recordKey() string { return recordKey(w.srv) }

// msalKey is the store key of the MSAL cache for the world's authority.
func (w *world) msalKey() string { return msalKey(w.srv) }

func recordKey(srv *azdotest.Server) string {
	return cache.Key(strings.ToLower(strings.TrimPrefix(srv.URL, "https://")), srv.Org, "")
}

func msalKey(srv *azdotest.Server) string {
	return "msal:" + strings.ToLower(srv.URL) + ":" + azdotest.DefaultClientID
}

// purgeKeyring deletes srv's organisation record and sign-in from the test run's keyring. Every
// test shares that keyring, and a new emulator may get the port of an old one: a test starts from
// nothing stored for its keys, and leaves nothing behind.
func purgeKeyring(srv *azdotest.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, k := range []string{recordKey(srv), msalKey(srv)} {
		if err := secretStore().Delete(ctx, k); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("purging %s from the keyring: %w", k, err)
		}
	}
	return nil
}

// storedRecord reads and decodes the organisation's record; a record that is present but does
// not decode is a corrupt cache.
func (w *world) storedRecord() (*cache.Record, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	b, err := secretStore().Get(ctx, w.recordKey())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return cache.Decode(b)
}

// storedSecrets returns every secret the helper holds for the world: the PAT and, from the
// MSAL cache, access, refresh and ID tokens.
func (w *world) storedSecrets() []string {
	w.t.Helper()
	// A store that cannot be read is a failure, not a store with nothing left in it.
	var out []string
	rec, err := w.storedRecord()
	if err != nil {
		w.t.Fatalf("reading the stored record: %v", err)
	}
	if rec != nil && rec.Token != "" {
		out = append(out, rec.Token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	b, err := secretStore().Get(ctx, w.msalKey())
	if errors.Is(err, store.ErrNotFound) {
		return out
	}
	if err != nil {
		w.t.Fatalf("reading the MSAL cache: %v", err)
	}
	var cache map[string]map[string]map[string]any
	if json.Unmarshal(b, &cache) != nil {
		w.t.Errorf("the MSAL cache in the store does not decode")
		return out
	}
	for _, section := range []string{"AccessToken", "RefreshToken", "IdToken"} {
		for _, entry := range cache[section] {
			if s, _ := entry["secret"].(string); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func (w *world) purgeKeyring() {
	if err := purgeKeyring(w.srv); err != nil {
		w.t.Error(err)
	}
}
