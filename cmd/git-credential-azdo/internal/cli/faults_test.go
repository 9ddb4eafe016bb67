package cli

import (
	"cmp"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
)

// recovers, as a fault's expected outcome, means the command succeeds in spite of the fault: git
// gets its credential, orgs lists the organisations, the clone works.
const recovers = ""

type faultCase struct{ endpoint, fault, want string }

// faultMatrix is what each endpoint must do under each fault: recover, or fail with exactly one
// line holding the given text. 500 is left out beside 503: every 5xx takes the same path.
var faultMatrix = []faultCase{
	// MSAL reads the authority's metadata before every sign-in.
	{"openid-configuration", "503", recovers},
	{"openid-configuration", "429", recovers},
	{"openid-configuration", "503x5", "/v2.0/.well-known/openid-configuration: the service failed for now; try again in a few minutes"},
	{"openid-configuration", "drop", recovers},
	{"openid-configuration", "dropx5", "the connection closed before an answer came"},
	{"openid-configuration", "html203", "Entra ID answered HTTP 203 to GET /"},
	{"openid-configuration", "truncate", "unable to resolve an endpoint: json decode error"},
	{"openid-configuration", "timeout", "the device sign-in timed out after " + timeoutHole + " (--timeout)"},

	{"devicecode", "503", recovers},
	{"devicecode", "429", recovers},
	{"devicecode", "503x5", "/oauth2/v2.0/devicecode: the service failed for now; try again in a few minutes"},
	{"devicecode", "drop", recovers},
	{"devicecode", "dropx5", "the connection closed before an answer came"},
	{"devicecode", "html203", "Entra ID answered HTTP 203 to POST /"},
	{"devicecode", "truncate", "json decode error"},
	{"devicecode", "timeout", "the device sign-in timed out after " + timeoutHole + " (--timeout)"},

	{"token", "503", recovers},
	{"token", "429", recovers},
	{"token", "503x5", "/oauth2/v2.0/token: the service failed for now; try again in a few minutes"},
	{"token", "drop", recovers},
	{"token", "dropx5", "the connection closed before an answer came"},
	{"token", "html203", "Entra ID answered HTTP 203 to POST /"},
	{"token", "truncate", "json decode error"},
	{"token", "timeout", "the device sign-in timed out after " + timeoutHole + " (--timeout)"},

	// The organisation's tenant, from the anonymous challenge: without it the sign-in goes to
	// the multi-tenant endpoint, which the emulator answers as well.
	{"org", "503", recovers},
	{"org", "429", recovers},
	{"org", "503x5", recovers},
	{"org", "drop", recovers},
	{"org", "dropx5", recovers},
	{"org", "html203", recovers},
	{"org", "truncate", recovers},
	{"org", "redirect", recovers},
	{"org", "timeout", "did not answer in time (--timeout " + timeoutHole + ")"},

	// A create is not sent again unless the service refused it at once (429): a lost answer may
	// mean a PAT was made, which the list then finds.
	{"pats.create", "503", recovers},
	{"pats.create", "429", recovers},
	{"pats.create", "503x5", "creating a PAT for contoso: HTTP 503"},
	{"pats.create", "429x5", "creating a PAT for contoso: HTTP 429"},
	{"pats.create", "drop", recovers},
	{"pats.create", "dropx5", "creating a PAT for contoso: calling the PAT API of contoso: cannot reach 127.0.0.1"},
	{"pats.create", "html203", recovers},
	{"pats.create", "truncate", recovers},
	{"pats.create", "redirect", recovers},
	{"pats.create", "paterror", "failedToReadTenantPolicy"},
	{"pats.create", "timeout", "did not answer in time (--timeout " + timeoutHole + ")"},

	// The list after a lost create: the create's own failure is reported, with the list's.
	// (A list answers patTokens, never patTokenError, so paterror does not apply.)
	{"pats.list", "503", recovers},
	{"pats.list", "429", recovers},
	{"pats.list", "503x5", "checking for a half-made PAT failed: listing PATs of contoso: HTTP 503"},
	{"pats.list", "drop", recovers},
	{"pats.list", "dropx5", "checking for a half-made PAT failed: listing PATs of contoso: cannot reach 127.0.0.1"},
	{"pats.list", "html203", "checking for a half-made PAT failed: listing PATs of contoso: Azure DevOps did not accept the sign-in (HTTP 203)"},
	{"pats.list", "truncate", "checking for a half-made PAT failed: listing PATs of contoso: unreadable answer"},
	{"pats.list", "redirect", "checking for a half-made PAT failed: listing PATs of contoso: Azure DevOps did not accept the sign-in (HTTP 302)"},
	{"pats.list", "timeout", "did not answer in time; the next run checks again)"},

	// A renewal that fails leaves the PAT it would have renewed, still valid, to serve.
	{"pats.update", "503", recovers},
	{"pats.update", "429", recovers},
	{"pats.update", "503x5", recovers},
	{"pats.update", "drop", recovers},
	{"pats.update", "dropx5", recovers},
	{"pats.update", "html203", recovers},
	{"pats.update", "truncate", recovers},
	{"pats.update", "redirect", recovers},
	{"pats.update", "paterror", recovers},
	{"pats.update", "timeout", recovers},

	// Revoking the PAT a replacement makes redundant is best effort: the new PAT is served.
	{"pats.revoke", "503", recovers},
	{"pats.revoke", "429", recovers},
	{"pats.revoke", "503x5", recovers},
	{"pats.revoke", "drop", recovers},
	{"pats.revoke", "dropx5", recovers},
	{"pats.revoke", "html203", recovers},
	{"pats.revoke", "truncate", recovers},
	{"pats.revoke", "redirect", recovers},
	{"pats.revoke", "paterror", recovers},
	{"pats.revoke", "timeout", recovers},

	// orgs reads the profile, then the accounts of its member id. A refused token is refreshed
	// once, as for the PAT API.
	{"profile", "503", recovers},
	{"profile", "429", recovers},
	{"profile", "503x5", "reading your profile: HTTP 503"},
	{"profile", "drop", recovers},
	{"profile", "dropx5", "reading your profile: cannot reach 127.0.0.1"},
	{"profile", "html203", recovers},
	{"profile", "truncate", "reading your profile: unreadable answer"},
	{"profile", "redirect", recovers},
	{"profile", "timeout", "did not answer in time (--timeout " + timeoutHole + ")"},

	{"accounts", "503", recovers},
	{"accounts", "429", recovers},
	{"accounts", "503x5", "listing your organisations: HTTP 503"},
	{"accounts", "drop", recovers},
	{"accounts", "dropx5", "listing your organisations: cannot reach 127.0.0.1"},
	{"accounts", "html203", recovers},
	{"accounts", "truncate", "listing your organisations: unreadable answer"},
	{"accounts", "redirect", recovers},
	{"accounts", "timeout", "did not answer in time (--timeout " + timeoutHole + ")"},

	// git itself does not retry, and what it prints is git's. The helper's PAT must outlive the
	// service's error: the next ls-remote uses it, with no new sign-in or PAT. (A redirect there
	// is git's to follow, and it says so in three lines.)
	{"git", "503", "The requested URL returned error: 503"},
	{"git", "drop", "Empty reply from server"},
	{"git", "html203", "not valid: is this a git repository?"},
	{"git", "truncate", recovers},
}

// retriesPlusOne outlasts the client's attempts at a request (four).
const retriesPlusOne = 5

// faultKinds are the faults of faultMatrix by name; env is for the measured command only.
var faultKinds = map[string]struct {
	fault azdotest.Fault // Endpoint is filled in per case
	env   []string
}{
	"503":      {fault: azdotest.Fault{Kind: azdotest.FaultStatus, Status: 503}},
	"429":      {fault: azdotest.Fault{Kind: azdotest.FaultStatus, Status: 429, RetryAfter: time.Second}},
	"503x5":    {fault: azdotest.Fault{Kind: azdotest.FaultStatus, Status: 503, Count: retriesPlusOne}},
	"429x5":    {fault: azdotest.Fault{Kind: azdotest.FaultStatus, Status: 429, RetryAfter: time.Second, Count: retriesPlusOne}},
	"drop":     {fault: azdotest.Fault{Kind: azdotest.FaultDrop}},
	"dropx5":   {fault: azdotest.Fault{Kind: azdotest.FaultDrop, Count: retriesPlusOne}},
	"html203":  {fault: azdotest.Fault{Kind: azdotest.FaultHTML203}},
	"truncate": {fault: azdotest.Fault{Kind: azdotest.FaultTruncate}},
	"redirect": {fault: azdotest.Fault{Kind: azdotest.FaultSignInRedirect}},
	"paterror": {fault: azdotest.Fault{Kind: azdotest.FaultPATError, Code: "failedToReadTenantPolicy"}},
	// An answer that never comes: --timeout must end the command. runFault chooses the
	// --timeout (withMoreTimeUntil), always shorter than this delay.
	"timeout": {fault: azdotest.Fault{Kind: azdotest.FaultDelay, Delay: 2 * time.Minute}},
}

// faultTarget is how a command comes to call an endpoint.
type faultTarget struct {
	env []string // for every command in the world
	// prepare brings the world to where the measured command calls the endpoint, and returns
	// extra env for that command and the clean one after it.
	prepare func(t *testing.T, w *world) []string
	// run is the measured command; nil is a get.
	run func(w *world, env []string) result
	git bool // run is git, and what it prints is git's
}

var faultTargets = map[string]faultTarget{
	// An empty cache: tenant discovery (org), MSAL's metadata, device code, token, create.
	"openid-configuration": {},
	"devicecode":           {},
	"token":                {},
	"org":                  {},
	"pats.create":          {},
	// A list follows a create whose answer was lost: the create is truncated (the PAT was made,
	// its secret lost), and the helper must find the PAT by its display name.
	"pats.list": {prepare: func(t *testing.T, w *world) []string {
		mustInject(t, w, azdotest.Fault{Endpoint: "pats.create", Kind: azdotest.FaultTruncate})
		return nil
	}},
	// A PAT inside its renewal window: lifetime 1h, renewed when less than 59m58s are left, and
	// the helper's clock moved on past that.
	"pats.update": {env: []string{"AZDO_LIFETIME=1h"}, prepare: func(t *testing.T, w *world) []string {
		mustGet(t, w)
		return []string{"AZDO_RENEW_BEFORE=59m58s", clockSkewEnv + "=2100ms"}
	}},
	// A replacement revokes the PAT it replaces: the server revoked it, git erased it.
	"pats.revoke": {prepare: func(t *testing.T, w *world) []string {
		pw := mustGet(t, w)
		old := w.activePATs()
		if len(old) != 1 {
			t.Fatalf("want one PAT before the revocation, got %+v", old)
		}
		if err := w.srv.RevokePAT(old[0].AuthorizationID); err != nil {
			t.Fatal(err)
		}
		if r := w.azdo(w.request("username=contoso", "password="+pw), nil, "erase"); r.code != 0 {
			t.Fatalf("erase: %d %s", r.code, r.stderr)
		}
		return nil
	}},
	"profile":  {prepare: signedIn, run: orgs},
	"accounts": {prepare: signedIn, run: orgs},
	"git": {prepare: signedIn, git: true, run: func(w *world, env []string) result {
		return w.run("", env, "git", "ls-remote", w.srv.RepoURL)
	}},
}

func signedIn(t *testing.T, w *world) []string {
	mustGet(t, w)
	return nil
}

func orgs(w *world, env []string) result { return w.azdo(nil, env, "orgs") }

func mustInject(t *testing.T, w *world, f azdotest.Fault) {
	t.Helper()
	if err := w.srv.InjectFault(f); err != nil {
		t.Fatal(err)
	}
}

func mustGet(t *testing.T, w *world, env ...string) string {
	t.Helper()
	r := w.get(env...)
	if r.code != 0 || r.password() == "" {
		t.Fatalf("get: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r.password()
}

// TestFaultMatrix injects each fault of faultMatrix into its endpoint and runs, through the real
// binary, the command that calls that endpoint. It must come out as the matrix says, and either
// way leave the cache readable, at most one PAT active, no secret printed, and a clean run of the
// same command afterwards working.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	// Most of a case is waiting (Retry-After, --timeout, the emulator's delays), so cases run
	// more at once than -parallel's default of GOMAXPROCS would allow.
	// The longest cases (a --timeout to wait out) start first, so that none is left to run alone
	// at the end.
	cases := slices.Clone(faultMatrix)
	slices.SortStableFunc(cases, func(a, b faultCase) int {
		return cmp.Compare(waits(a), waits(b))
	})
	sem := make(chan struct{}, faultConcurrency)
	var wg sync.WaitGroup
	for _, c := range cases {
		target, ok := faultTargets[c.endpoint]
		kind, known := faultKinds[c.fault]
		if !ok || !known {
			t.Fatalf("%s/%s: no such endpoint or fault", c.endpoint, c.fault)
		}
		sem <- struct{}{} // in the loop, so that cases start in the order above
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t.Run(c.endpoint+"/"+c.fault, func(t *testing.T) {
				f := kind.fault
				f.Endpoint = c.endpoint
				runFault(t, target, f, kind.env, c.want)
			})
		}()
	}
	wg.Wait()
	endpoints, recovering := map[string]bool{}, 0
	for _, c := range faultMatrix {
		endpoints[c.endpoint] = true
		if c.want == recovers {
			recovering++
		}
	}
	t.Logf("fault matrix: %d faults over %d endpoints; %d must recover, %d must fail with one clear line",
		len(faultMatrix), len(endpoints), recovering, len(faultMatrix)-recovering)
}

// waits orders a case: 0 for one that waits out --timeout, else 1.
func waits(c faultCase) int {
	if c.fault == "timeout" {
		return 0
	}
	return 1
}

// faultConcurrency is how many fault worlds run at once.
const faultConcurrency = 8

// jwt is the shape of an access, refresh or ID token from Entra ID.
var jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.`)

// wholeJWT is a token of jwt's shape with the rest of it, payload and signature: all of it is
// masked, since the header alone is no secret.
var wholeJWT = regexp.MustCompile(jwt.String() + `[A-Za-z0-9_.-]*`)

// maskSecrets is out for a log or a failure message: hidePasswords with the given secrets, and
// every JWT-shaped token masked too.
func maskSecrets(out string, secrets []string) string {
	return wholeJWT.ReplaceAllString(hidePasswords(out, secrets...), "[token]")
}

func runFault(t *testing.T, target faultTarget, f azdotest.Fault, faultEnv []string, want string) {
	run := target.run
	if run == nil {
		run = func(w *world, env []string) result { return w.get(env...) }
	}
	// An attempt starts from a new world, so that one --timeout cut short leaves nothing to the next.
	var w *world
	var env []string
	var before, after azdotest.Counters
	attempt := func(extraEnv ...string) result {
		w, env = newWorld(t, azdotest.Options{AutoApprove: true}, target.env...), nil
		if target.prepare != nil {
			env = target.prepare(t, w)
		}
		before = w.srv.Counters()
		mustInject(t, w, f)
		r := run(w, slices.Concat(env, faultEnv, extraEnv))
		after = w.srv.Counters()
		return r
	}
	var r result
	if f.Kind == azdotest.FaultDelay {
		var timeout time.Duration
		r, timeout = withMoreTimeUntil(t, func(timeoutEnv string) (result, bool) {
			r := attempt(timeoutEnv)
			return r, after.Requests[f.Endpoint] > before.Requests[f.Endpoint]
		})
		want = strings.ReplaceAll(want, timeoutHole, timeout.String())
	} else {
		r = attempt()
	}
	w.srv.ClearFaults()
	// The log and the messages show a masked copy of the output: a regression that prints a
	// secret must fail the checks below, which read the raw output, not leak it into the log.
	secrets := w.storedSecrets()
	shown := r
	shown.stdout, shown.stderr = maskSecrets(r.stdout, secrets), maskSecrets(r.stderr, secrets)
	t.Logf("exit %d, %d request(s) to %s; stderr: %s", r.code, after.Requests[f.Endpoint]-before.Requests[f.Endpoint], f.Endpoint, strings.TrimSpace(shown.stderr))

	if after.Requests[f.Endpoint] == before.Requests[f.Endpoint] {
		t.Errorf("%s was never reached", f.Endpoint)
	}
	for _, s := range secrets {
		if strings.Contains(r.stderr, s) || r.code != 0 && strings.Contains(r.stdout, s) {
			t.Errorf("a stored secret was printed")
		}
	}
	if jwt.MatchString(r.stderr) {
		t.Errorf("a token was printed on stderr")
	}
	if !target.git {
		if _, ok := r.unprefixedLine(); ok {
			l, _ := shown.unprefixedLine()
			t.Errorf("stderr line without the program's prefix: %s", l)
		}
	}
	// Masking keeps every line, so shownLines has the lines of lines, masked.
	switch lines, shownLines := r.errorLines(), shown.errorLines(); {
	case r.code < 0:
		t.Errorf("did not exit: %v", r.err)
	case want == recovers && r.code != 0:
		t.Errorf("want it to recover, got exit %d: %s", r.code, strings.Join(shownLines, " | "))
	case want == recovers && target.run == nil && (r.password() == "" || strings.Contains(r.stdout, "quit=")):
		t.Errorf("recovered without a credential: %q", shown.stdout)
	case want != recovers && r.code == 0:
		t.Errorf("want it to fail with %q, got exit 0", want)
	case want != recovers && (len(lines) != 1 || !strings.Contains(lines[0], want)):
		t.Errorf("want one line with %q, got %q", want, shownLines)
	case want != recovers && target.run == nil && r.password() != "":
		t.Errorf("failed but printed a password")
	}
	checkAfterFault(t, w, run, env, before, target.run != nil)
}

// checkAfterFault checks what a fault left, whatever the outcome: the cache decodes, at most one
// PAT is active, and with the service healthy again the same command works, from whatever the
// fault left.
func checkAfterFault(t *testing.T, w *world, run func(*world, []string) result, env []string, before azdotest.Counters, keep bool) {
	t.Helper()
	if n := len(w.activePATs()); n > 1 {
		t.Errorf("%d PATs active after the fault", n)
	}
	if _, err := w.storedRecord(); err != nil {
		t.Errorf("stored record unreadable after the fault: %v", err)
	}
	clean := run(w, env)
	if clean.code != 0 {
		t.Fatalf("clean run after the fault: exit %d: %s", clean.code, strings.TrimSpace(maskSecrets(clean.stderr, w.storedSecrets())))
	}
	rec, err := w.storedRecord()
	switch {
	case err != nil || rec == nil:
		t.Errorf("after a clean run, no stored record (err %v)", err)
	case clean.password() != "" && rec.Token != clean.password():
		t.Errorf("after a clean get, the stored record does not hold its password")
	}
	if n := len(w.activePATs()); n > 1 {
		t.Errorf("%d PATs active after a clean run: %+v", n, w.activePATs())
	}
	// A fault in a command that only uses the sign-in and PAT it finds (orgs, git) costs neither.
	if c := w.srv.Counters(); keep && (c.PATsCreated != before.PATsCreated || c.Grants["device_code"] != before.Grants["device_code"]) {
		t.Errorf("the fault cost a sign-in or a PAT: %d PATs made, %d sign-ins, before it %d and %d",
			c.PATsCreated, c.Grants["device_code"], before.PATsCreated, before.Grants["device_code"])
	}
}
