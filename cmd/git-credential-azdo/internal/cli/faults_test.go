package cli

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
)

// faultKind is one way an endpoint misbehaves.
type faultKind struct {
	name  string
	fault azdotest.Fault // Endpoint is filled in per case
	env   []string       // for the measured get only
}

// retriesPlusOne outlasts the transport's attempts (patmgr's maxAttempts is 4).
const retriesPlusOne = 5

var faultKinds = []faultKind{
	{name: "429-retry-after-1s", fault: azdotest.Fault{Kind: azdotest.FaultStatus, Status: 429, RetryAfter: time.Second}},
	{name: "500", fault: azdotest.Fault{Kind: azdotest.FaultStatus, Status: 500}},
	{name: "503", fault: azdotest.Fault{Kind: azdotest.FaultStatus, Status: 503}},
	{name: "html203", fault: azdotest.Fault{Kind: azdotest.FaultHTML203}},
	{name: "delay-1s", fault: azdotest.Fault{Kind: azdotest.FaultDelay, Delay: time.Second}},
	// Longer than the harness waits for a get: --timeout must cut it, or the harness's deadline
	// expires and the test fails.
	{name: "delay-past-timeout", fault: azdotest.Fault{Kind: azdotest.FaultDelay, Delay: 2 * time.Minute},
		env: []string{"AZDO_TIMEOUT=3s"}},
	{name: "truncate", fault: azdotest.Fault{Kind: azdotest.FaultTruncate}},
	{name: "drop", fault: azdotest.Fault{Kind: azdotest.FaultDrop}},
	{name: "503-x5", fault: azdotest.Fault{Kind: azdotest.FaultStatus, Status: 503, Count: retriesPlusOne}},
	{name: "429-x5", fault: azdotest.Fault{Kind: azdotest.FaultStatus, Status: 429, RetryAfter: time.Second, Count: retriesPlusOne}},
	{name: "drop-x5", fault: azdotest.Fault{Kind: azdotest.FaultDrop, Count: retriesPlusOne}},
}

// faultTarget is an endpoint and the state that makes a get reach it.
type faultTarget struct {
	endpoint string
	env      []string // for every run in the world
	// prepare brings the world to the state where the measured get hits the endpoint, and
	// returns extra env for the measured get.
	prepare func(t *testing.T, w *world) []string
}

var faultTargets = []faultTarget{
	// An empty cache: tenant discovery (org), MSAL's metadata, device code, token, create.
	{endpoint: "openid-configuration"},
	{endpoint: "devicecode"},
	{endpoint: "token"},
	{endpoint: "org"},
	{endpoint: "pats.create"},
	// A list happens after a create whose answer was lost: the create is truncated (the PAT was
	// made, its secret lost), and the helper must find it by its display name.
	{endpoint: "pats.list", prepare: func(t *testing.T, w *world) []string {
		mustInject(t, w, azdotest.Fault{Endpoint: "pats.create", Kind: azdotest.FaultTruncate})
		return nil
	}},
	// A PAT inside its renewal window: lifetime 1h, renewed when less than 59m58s are left.
	{endpoint: "pats.update", env: []string{"AZDO_LIFETIME=1h"}, prepare: func(t *testing.T, w *world) []string {
		mustGet(t, w)
		return []string{"AZDO_RENEW_BEFORE=59m58s", clockSkewEnv + "=2100ms"}
	}},
	// A replacement revokes the PAT it replaces: the server revoked it, git erased it.
	{endpoint: "pats.revoke", prepare: func(t *testing.T, w *world) []string {
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
}

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

// faultTally counts what the matrix tried and how it came out, for the README's figures.
type faultTally struct {
	mu                           sync.Mutex
	tried, survived, recovered   int
	failedClearly, notExercised  int
	failures                     []string
	requestsByEndpoint, injected map[string]int
}

func (ft *faultTally) add(name, endpoint string, hits int, ok, recovered bool, problem string) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.tried++
	ft.requestsByEndpoint[endpoint] += hits
	ft.injected[endpoint]++
	switch {
	case !ok:
		ft.failures = append(ft.failures, name+": "+problem)
	case recovered:
		ft.survived++
		ft.recovered++
	default:
		ft.survived++
		ft.failedClearly++
	}
}

// TestFaultMatrix injects every fault kind into every endpoint a get can reach, through the real
// binary: each get succeeds or fails with one clear line, the cache is never left corrupt (a clean
// get afterwards works and its record decodes), and no more than one PAT is left active.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	tally := &faultTally{requestsByEndpoint: map[string]int{}, injected: map[string]int{}}
	t.Cleanup(func() {
		t.Logf("fault matrix: %d faults tried, %d survived (%d recovered, %d failed with one clear line), %d broke the contract",
			tally.tried, tally.survived, tally.recovered, tally.failedClearly, len(tally.failures))
		eps := make([]string, 0, len(tally.injected))
		for ep := range tally.injected {
			eps = append(eps, ep)
		}
		sort.Strings(eps)
		for _, ep := range eps {
			t.Logf("  %-21s %2d faults, %3d requests seen", ep, tally.injected[ep], tally.requestsByEndpoint[ep])
		}
		for _, f := range tally.failures {
			t.Logf("  FAILED %s", f)
		}
	})
	// Most of a case is waiting (Retry-After, delays, the renewal window), so cases run more at
	// once than -parallel's default of GOMAXPROCS would allow.
	sem := make(chan struct{}, faultConcurrency)
	var wg sync.WaitGroup
	for _, target := range faultTargets {
		for _, kind := range faultKinds {
			name := target.endpoint + "/" + kind.name
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				t.Run(name, func(t *testing.T) {
					ok, recovered, hits, problem := runFault(t, target, kind)
					tally.add(name, target.endpoint, hits, ok, recovered, problem)
					if !ok {
						t.Error(problem)
					}
				})
			}()
		}
	}
	wg.Wait()
}

// faultConcurrency is how many fault worlds run at once.
const faultConcurrency = 8

func runFault(t *testing.T, target faultTarget, kind faultKind) (ok, recovered bool, hits int, problem string) {
	w := newWorld(t, azdotest.Options{AutoApprove: true}, target.env...)
	var env []string
	if target.prepare != nil {
		env = target.prepare(t, w)
	}
	before := w.srv.Counters()
	f := kind.fault
	f.Endpoint = target.endpoint
	mustInject(t, w, f)

	r := w.get(append(env, kind.env...)...)
	after := w.srv.Counters()
	hits = after.Requests[target.endpoint] - before.Requests[target.endpoint]
	w.srv.ClearFaults()
	t.Logf("exit %d in %s, %d request(s) to %s; stderr: %s", r.code, r.took.Round(time.Millisecond), hits, target.endpoint, strings.TrimSpace(r.stderr))

	var problems []string
	if hits == 0 {
		problems = append(problems, "the faulty endpoint was never reached")
	}
	succeeded, p := clearOutcome(t, r)
	if p != "" {
		problems = append(problems, p)
	}
	if succeeded && strings.Contains(r.stdout, "quit=") {
		problems = append(problems, "succeeded with quit")
	}
	if n := len(w.activePATs()); n > 1 {
		problems = append(problems, fmt.Sprintf("%d PATs active after the fault", n))
	}
	if _, err := w.storedRecord(); err != nil {
		problems = append(problems, "stored record unreadable after the fault: "+err.Error())
	}

	// Afterwards, with the service healthy again, a plain get works from whatever was left.
	clean := w.get(env...)
	if clean.code != 0 || clean.password() == "" {
		problems = append(problems, fmt.Sprintf("clean get after the fault: exit %d: %s", clean.code, strings.TrimSpace(clean.stderr)))
	} else if rec, err := w.storedRecord(); err != nil || rec == nil || rec.Token != clean.password() {
		problems = append(problems, fmt.Sprintf("after a clean get the stored record does not hold its password (err %v)", err))
	}
	if n := len(w.activePATs()); n > 1 {
		problems = append(problems, fmt.Sprintf("%d PATs active after a clean get: %+v", n, w.activePATs()))
	}
	if len(problems) > 0 {
		return false, succeeded, hits, strings.Join(problems, "; ")
	}
	return true, succeeded, hits, ""
}
