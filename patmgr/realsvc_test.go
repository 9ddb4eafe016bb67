package patmgr

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
)

// failedToReadOrgPolicy, like failedToReadTenantPolicy, fails this get and remembers nothing.
func TestUnreadOrgPolicyFailsOnlyThisGet(t *testing.T) {
	for _, code := range []string{"failedToReadOrgPolicy", "failedToIssueAccessToken"} {
		t.Run(code, func(t *testing.T) {
			e := newEmulated(t, nil)
			e.fault(t, azdotest.Fault{Endpoint: "pats.create", Kind: azdotest.FaultPATError, Code: code, Status: http.StatusInternalServerError})
			_, err := e.Credential(context.Background(), e.target)
			if err == nil || !strings.Contains(err.Error(), code) || !strings.Contains(err.Error(), "try again in a few minutes") {
				t.Fatalf("get: %v, want the refusal and what to do", err)
			}
			if rec, err := e.load(context.Background(), e.key(e.target)); err != nil || rec != nil {
				t.Fatalf("after the refusal the store holds %s (%v), want nothing", kindOf(rec), err)
			}
			if e.get(t); e.srv.Counters().PATsCreated != 1 {
				t.Fatalf("the next get made %d PATs, want 1", e.srv.Counters().PATsCreated)
			}
		})
	}
}

// A token the PAT API refuses, in any of the service's shapes, is refreshed once, and the fresh
// one makes the PAT without a prompt.
func TestRefusedTokenIsRefreshedOnce(t *testing.T) {
	shapes := map[string]azdotest.Fault{
		"redirect":     {Endpoint: "pats.create", Kind: azdotest.FaultSignInRedirect},
		"203 HTML":     {Endpoint: "pats.create", Kind: azdotest.FaultHTML203},
		"401":          {Endpoint: "pats.create", Kind: azdotest.FaultStatus, Status: http.StatusUnauthorized},
		"403":          {Endpoint: "pats.create", Kind: azdotest.FaultStatus, Status: http.StatusForbidden},
		"accessDenied": {Endpoint: "pats.create", Kind: azdotest.FaultPATError, Code: "accessDenied", Status: http.StatusForbidden},
	}
	for name, f := range shapes {
		t.Run(name, func(t *testing.T) {
			e := newEmulated(t, nil)
			e.fault(t, f)
			if c := e.get(t); c.Password == "" {
				t.Fatal("no credential")
			}
			c := e.srv.Counters()
			if c.PATsCreated != 1 || c.Requests["pats.create"] != 2 || c.Grants["refresh_token"] != 1 || c.Requests["signin"] != 0 {
				t.Fatalf("%d PATs made in %d creates, %d refreshes, %d sign-in page visits; want 1 in 2, 1, 0",
					c.PATsCreated, c.Requests["pats.create"], c.Grants["refresh_token"], c.Requests["signin"])
			}
		})
	}
	t.Run("an access token the service no longer takes", func(t *testing.T) {
		e := newEmulated(t, nil)
		tenant, account, _, err := e.identity(context.Background(), e.target, nil)
		if err == nil {
			_, err = e.signer.Token(context.Background(), e.target.Org, tenant, account, "", true)
		}
		if err != nil {
			t.Fatal(err)
		}
		// On the service's clock the cached token has expired; MSAL, on this machine's, still
		// holds it for good.
		e.srv.Advance(2 * time.Hour)
		e.get(t)
		if c := e.srv.Counters(); c.PATsCreated != 1 || c.Grants["refresh_token"] != 1 {
			t.Fatalf("%d PATs made, %d refreshes; want 1 and 1", c.PATsCreated, c.Grants["refresh_token"])
		}
	})
}

// A client whose fresh token the PAT API refuses gets the Entra token, one line saying why and
// what would give PATs, and a PAT again once a day has passed and the client may have them.
func TestClientWithoutPATScopesFallsBack(t *testing.T) {
	const ownApp = "0d3f8a52-5c1e-4a5b-9d0e-7f6a1b2c3d4e"
	for _, tc := range []struct {
		name     string
		clientID string
		fix      string
	}{
		{"default client", config.DefaultClientID, "register an app with the Azure DevOps permissions vso.pats_manage and vso.code_write and pass its id with --client-id"},
		{"own app", ownApp, "give app " + ownApp + " the Azure DevOps permissions vso.pats_manage and vso.code_write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEmulatedWith(t, azdotest.Options{ClientIDs: []string{ownApp}}, func(c *config.Config) { c.ClientID = tc.clientID }, nil)
			var stderr bytes.Buffer
			e.stderr = &stderr
			if err := e.srv.SetPATScopes(tc.clientID, false); err != nil {
				t.Fatal(err)
			}
			c := e.get(t)
			counters := e.srv.Counters()
			if c.Password == "" || counters.PATsCreated != 0 || counters.Grants["refresh_token"] != 1 {
				t.Fatalf("%d PATs made, %d refreshes; want the Entra token after one refresh", counters.PATsCreated, counters.Grants["refresh_token"])
			}
			// These tests sign in with the password flow, which adds its deprecation note.
			line := passwordNote.ReplaceAllString(stderr.String(), "")
			if strings.Count(line, "\n") != 1 || !strings.Contains(line, "refused a fresh sign-in of client "+tc.clientID) ||
				!strings.Contains(line, tc.fix) || !strings.Contains(line, "using your Entra ID sign-in token instead") {
				t.Fatalf("stderr %q, want one line saying why and %q", line, tc.fix)
			}
			if strings.Contains(line, c.Password) {
				t.Fatal("the message holds the token")
			}
			rec, err := e.load(context.Background(), e.key(e.target))
			if err != nil || rec == nil || rec.Kind != cache.KindEntra || rec.PolicyError != clientRefusedReason(e.cfg.ClientID) {
				t.Fatalf("stored %s (%v), want the Entra fallback", kindOf(rec), err)
			}
			// Within the day: the Entra token, quietly, and no PAT API call.
			stderr.Reset()
			e.srv.Advance(time.Hour)
			if c := e.get(t); c.Password == "" || stderr.Len() != 0 || e.srv.Counters().Requests["pats.create"] != counters.Requests["pats.create"] {
				t.Fatalf("a get within the day: stderr %q, %d creates (was %d)", stderr.String(), e.srv.Counters().Requests["pats.create"], counters.Requests["pats.create"])
			}
			// A day later, with the scopes granted, the PAT.
			if err := e.srv.SetPATScopes(tc.clientID, true); err != nil {
				t.Fatal(err)
			}
			e.srv.Advance(policyRecheck)
			if e.get(t); e.srv.Counters().PATsCreated != 1 {
				t.Fatalf("a day later %d PATs made, want 1", e.srv.Counters().PATsCreated)
			}
		})
	}
	t.Run("switching to an app with the scopes gives the PAT at once", func(t *testing.T) {
		e := newEmulatedWith(t, azdotest.Options{ClientIDs: []string{ownApp}}, nil, nil)
		if err := e.srv.SetPATScopes(config.DefaultClientID, false); err != nil {
			t.Fatal(err)
		}
		e.get(t)
		cfg := e.cfg
		cfg.ClientID = ownApp
		m, err := New(cfg, Options{Store: e.store, Env: &e.env, Stderr: io.Discard, Now: e.srv.Now})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Credential(context.Background(), e.target); err != nil || e.srv.Counters().PATsCreated != 1 {
			t.Fatalf("a get with the own app: %v, %d PATs made; want 1", err, e.srv.Counters().PATsCreated)
		}
	})
	t.Run("list says what would help", func(t *testing.T) {
		e := newEmulated(t, nil)
		if err := e.srv.SetPATScopes(config.DefaultClientID, false); err != nil {
			t.Fatal(err)
		}
		_, err := e.List(context.Background(), e.target, "active")
		if err == nil || !strings.Contains(err.Error(), "--client-id") || e.srv.Counters().Grants["refresh_token"] != 1 {
			t.Fatalf("list: %v, want the refusal and the fix after one refresh", err)
		}
	})
}

// passwordNote is the line every password sign-in adds to stderr.
var passwordNote = regexp.MustCompile(`(?m)^git-credential-azdo: note: --login=password is deprecated.*\n`)
