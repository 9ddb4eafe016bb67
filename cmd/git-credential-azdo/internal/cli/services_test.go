package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// TestStatusAndLogoutOverTwoServices runs two emulators (two services) for one user, reached
// only through git's helper lines, and status and logout --all from a command line that names
// neither.
func TestStatusAndLogoutOverTwoServices(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	srv2, err := azdotest.NewServer(azdotest.Options{Dir: testenv.TempDir(t), AutoApprove: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv2.Close)
	w2 := &world{t: t, srv: srv2, home: w.home, env: w.env}
	w2.purgeKeyring()
	t.Cleanup(w2.purgeKeyring)
	f, err := os.OpenFile(filepath.Join(w.home, ".gitconfig"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("[include]\n\tpath = " + srv2.GitConfig + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	w.clone()
	w2.clone()

	r := w.run("", nil, prog, "status")
	if r.err != nil {
		t.Fatalf("status: %v\n%s", r.err, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("status line of %d columns: %q", n, l)
		}
	}
	if !strings.HasPrefix(lines[0], "ORG") || !strings.Contains(lines[0], "SERVICE") {
		t.Errorf("status header %q has no SERVICE column", lines[0])
	}
	for _, host := range []string{w.host(), w2.host()} {
		if !strings.Contains(r.stdout, "contoso  "+host+"  alice@contoso.example  valid  in 30 days  silent\n") {
			t.Errorf("status has no silent, valid row for %s:\n%s", host, r.stdout)
		}
	}
	r = w.run("", nil, prog, "status", "--json")
	var all []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil || len(all) != 2 {
		t.Fatalf("status --json = %s (%v)", r.stdout, err)
	}
	for _, st := range all {
		if st["silentRenewal"] != true || st["state"] != "valid" {
			t.Errorf("status --json entry %v: want valid with silent renewal", st)
		}
	}

	// The second service will not revoke: logout --all revokes what it can, keeps the PAT it
	// could not revoke (and that service's sign-in) for another try, and names it.
	mustInject(t, w2, azdotest.Fault{Endpoint: "pats.revoke", Kind: azdotest.FaultStatus, Status: 500, Count: 20})
	r = w.run("", nil, prog, "logout", "--all")
	if r.err == nil {
		t.Fatalf("logout --all succeeded with a PAT not revoked:\n%s", r.stdout)
	}
	for _, want := range []string{
		"contoso (" + w.host() + "): PAT revoked and deleted from ",
		"contoso (" + w2.host() + "): kept in ",
		"Signed out of " + w.host() + ": the cached sign-in is deleted.\n",
		"The cached sign-in for " + w2.host() + " is kept, as not every PAT is revoked (above): run logout --all again later.\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("logout --all stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "Signed out of "+w2.host()) {
		t.Errorf("logout --all claims to have signed out of %s:\n%s", w2.host(), r.stdout)
	}
	if !strings.Contains(r.stderr, "the PAT of contoso ("+w2.host()+") is not revoked") {
		t.Errorf("logout --all stderr does not name the PAT it left: %s", r.stderr)
	}
	if got := w.srv.Counters().PATsRevoked; got != 1 {
		t.Errorf("first service: %d PATs revoked, want 1", got)
	}
	if got := len(w2.activePATs()); got != 1 {
		t.Errorf("second service: %d active PATs, want the 1 it would not revoke", got)
	}
	if s := w.storedSecrets(); len(s) != 0 {
		t.Errorf("%s: %d secrets left in the keyring", w.host(), len(s))
	}
	if r := w.run("", nil, prog, "status", "--json"); !strings.Contains(r.stdout, w2.host()) || strings.Contains(r.stdout, `"host": "`+w.host()+`"`) {
		t.Errorf("status after logout --all: want only the PAT left to revoke:\n%s", r.stdout)
	}

	// Once the service revokes again, the next logout --all finishes the job.
	w2.srv.ClearFaults()
	if r := w.run("", nil, prog, "logout", "--all"); r.err != nil {
		t.Fatalf("second logout --all: %v\n%s%s", r.err, r.stdout, r.stderr)
	}
	if got := len(w2.activePATs()); got != 0 {
		t.Errorf("second service: %d active PATs after the second logout, want 0", got)
	}
	for _, x := range []*world{w, w2} {
		if s := x.storedSecrets(); len(s) != 0 {
			t.Errorf("%s: %d secrets left in the keyring", x.host(), len(s))
		}
	}
	if r := w.run("", nil, prog, "status", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("status after the second logout --all: %s", r.stdout)
	}
}

func TestPrintTableFitsWidth(t *testing.T) {
	t.Parallel()
	rows := [][]string{
		{"ORG", "SERVICE", "ACCOUNT", "STATE", "EXPIRES", "RENEWAL"},
		{"a-rather-long-organisation-name", "proxy.internal.example.com:8443", "someone.with.a.long.name@subsidiary.example.com", "renewal-due", "in 10 days", "sign-in"},
		{"contoso", "dev.azure.com", "alice@contoso.example", "valid", "in 30 days", "silent"},
	}
	var b bytes.Buffer
	printTable(&b, rows, 80)
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}
	if !strings.Contains(b.String(), "…") || !strings.Contains(b.String(), "renewal-due") || !strings.Contains(b.String(), "contoso  ") {
		t.Errorf("want the widest cells shortened and the short ones whole:\n%s", b.String())
	}
}

// A table quotes the service (PAT names, scopes): a cell is one line of text, whatever it holds.
func TestPrintTableKeepsCellsInert(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	printTable(&b, [][]string{{"NAME", "SCOPE"}, {"pat\x1b]0;owned\x07\nsecond line", "vso.code\r\u202e"}}, 0)
	if got := b.String(); strings.ContainsAny(got, "\x1b\x07\r\u202e") || strings.Count(got, "\n") != 2 {
		t.Errorf("terminal control or a line break reached the table: %q", got)
	}
}
