package cli

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/redact"
)

// TestMainInProcess runs Main inside this test binary, under the race detector, for what the
// end-to-end tests run as a program built without it: git's get (signing in, then from the
// cache), store and erase, an operation git may add one day (read from a live pipe), and
// commands a person types. It is not parallel: Main sets the program's globals.
func TestMainInProcess(t *testing.T) {
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	const password = "in-process-password-8d1f"
	getenv := func(key string) string {
		if key == "AZDO_PASSWORD" {
			return password
		}
		value := ""
		for _, kv := range w.env { // as exec does, the last value wins
			if k, v, ok := strings.Cut(kv, "="); ok && k == key {
				value = v
			}
		}
		return value
	}
	run := func(stdin io.Reader, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Main(append(w.flags(), args...), stdin, &stdout, &stderr, getenv)
		return code, stdout.String(), stderr.String()
	}

	code, out, errOut := run(bytes.NewReader(w.request()), "get")
	first := (result{stdout: out}).password()
	if code != 0 || first == "" || w.srv.Counters().PATsCreated != 1 {
		t.Fatalf("first get: exit %d, %d PATs; stderr: %s", code, w.srv.Counters().PATsCreated, errOut)
	}
	before := w.srv.Counters()
	if code, out, errOut = run(bytes.NewReader(w.request()), "get"); code != 0 || (result{stdout: out}).password() != first {
		t.Fatalf("cached get: exit %d; stderr: %s", code, errOut)
	}
	if d := requestsSince(before, w.srv.Counters()); len(d) > 0 {
		t.Fatalf("the cached get made requests: %v", d)
	}
	if code, out, errOut = run(bytes.NewReader(w.request("username=x", "password="+first)), "store"); code != 0 || out != "" {
		t.Fatalf("store: exit %d, stdout %q; stderr: %s", code, hidePasswords(out, first), errOut)
	}

	// git's future operation, from a pipe as git writes it, left open: ignored, as the protocol
	// asks, without waiting for the end of stdin. The request fits the pipe's buffer.
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer pw.Close()
	if _, err := pw.Write(w.request()); err != nil {
		t.Fatal(err)
	}
	// Main runs in a goroutine under a bound, so that a Main that waits for the end of stdin
	// fails the test instead of hanging it until go test's own timeout.
	type ran struct {
		code        int
		out, errOut string
	}
	done := make(chan ran, 1)
	go func() {
		code, out, errOut := run(r, "frobnicate")
		done <- ran{code, out, errOut}
	}()
	select {
	case got := <-done:
		code, out, errOut = got.code, got.out, got.errOut
	case <-time.After(time.Minute): // a hang, not a slow machine
		// The end of stdin lets a Main that waits for it return, before the world goes.
		pw.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
		}
		t.Fatalf("an operation git may add: Main still ran a minute on, with its stdin open")
	}
	if code != 0 || out != "" || errOut != "" {
		t.Fatalf("an operation git may add: exit %d, stdout %q, stderr %q", code, hidePasswords(out, first), errOut)
	}

	if code, out, errOut = run(nil, "status", "--json"); code != 0 || !strings.Contains(out, `"org": "`+w.srv.Org+`"`) {
		t.Fatalf("status: exit %d, stdout %s; stderr: %s", code, out, errOut)
	}
	// The password from the environment is masked like a token, wherever a line could show it.
	if line := redact.Line("sign-in failed for " + password); strings.Contains(line, password) {
		t.Fatalf("AZDO_PASSWORD not masked: %s", line)
	}

	if code, _, errOut = run(bytes.NewReader(w.request("username=x", "password="+first)), "erase"); code != 0 {
		t.Fatalf("erase: exit %d; stderr: %s", code, errOut)
	}
	if code, out, errOut = run(bytes.NewReader(w.request()), "get"); code != 0 || (result{stdout: out}).password() == first {
		t.Fatalf("get after erase: exit %d, the erased PAT served again; stderr: %s", code, errOut)
	}
}
