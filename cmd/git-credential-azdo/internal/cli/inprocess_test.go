package cli

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

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
		t.Fatalf("store: exit %d, stdout %q; stderr: %s", code, out, errOut)
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
	if code, out, errOut = run(r, "frobnicate"); code != 0 || out != "" || errOut != "" {
		t.Fatalf("an operation git may add: exit %d, stdout %q, stderr %q", code, out, errOut)
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
