package signin

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdo"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// An error status from Entra ID reads as the status and what to do, never as MSAL's
// "reply status code was 503:" with the reply cut off after the colon.
func TestEntraStatusEndsCleanly(t *testing.T) {
	testenv.SkipOnWindows(t, "git (Git for Windows), which the emulator serves repositories with")
	srv, err := azdotest.NewServer(azdotest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cases := []struct {
		name     string
		fault    azdotest.Fault
		password string
		want     string
	}{
		{"503", azdotest.Fault{Endpoint: "token", Kind: azdotest.FaultStatus, Status: http.StatusServiceUnavailable, Count: 5}, srv.Password,
			"Entra ID answered HTTP 503 to POST /" + srv.TenantID + "/oauth2/v2.0/token: the service failed for now; try again in a few minutes"},
		{"html203", azdotest.Fault{Endpoint: "token", Kind: azdotest.FaultHTML203}, srv.Password,
			"Entra ID answered HTTP 203 to POST /" + srv.TenantID + "/oauth2/v2.0/token"},
		{"wrong password", azdotest.Fault{}, "not the password",
			"Entra ID answered HTTP 400 to POST /" + srv.TenantID + "/oauth2/v2.0/token: AADSTS50126: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv.ClearFaults()
			if tc.fault.Kind != "" {
				if err := srv.InjectFault(tc.fault); err != nil {
					t.Fatal(err)
				}
			}
			cfg := config.Defaults()
			cfg.Authority, cfg.CAFile, cfg.Username, cfg.Password = srv.URL, srv.CAFile, srv.User, tc.password
			st, err := store.NewFile(filepath.Join(testenv.TempDir(t), "credentials"))
			if err != nil {
				t.Fatal(err)
			}
			client, err := azdo.NewClient(&cfg, http.ProxyURL(nil), nil)
			if err != nil {
				t.Fatal(err)
			}
			var prompt bytes.Buffer
			s := New(&cfg, client, st, Environment{}, &prompt, nil, login)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // must not expire
			defer cancel()
			_, err = s.interactive(ctx, "", srv.TenantID, "", config.LoginPassword, "")
			prefix := "signing in (password) at " + srv.URL + "/" + srv.TenantID + ": "
			if err == nil || !strings.HasPrefix(err.Error(), prefix+tc.want) || strings.ContainsAny(err.Error(), "\n") || strings.HasSuffix(err.Error(), ":") {
				t.Fatalf("got  %v\nwant %s", err, prefix+tc.want)
			}
		})
	}
}
