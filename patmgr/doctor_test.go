package patmgr

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdo"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
)

// connectProxy is an HTTP proxy that tunnels CONNECT to any host, or refuses every one.
func connectProxy(t *testing.T, refuse bool) *url.URL {
	t.Helper()
	handler := azdotest.TunnelHandler()
	if refuse {
		handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "not through this proxy", http.StatusForbidden)
		})
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword("user", "secret")
	return u
}

// doctor names the proxy it goes through, and the proxy that refuses.
func TestDoctorNamesTheProxy(t *testing.T) {
	e := newEmulated(t, nil)
	if err := e.init(); err != nil {
		t.Fatal(err)
	}
	var err error
	authority := e.srv.URL + "/organizations"
	if c := e.checkAuthority(context.Background()); !c.OK || c.Detail != authority+" answers" {
		t.Fatalf("without a proxy: %+v", c)
	}
	for _, refuse := range []bool{false, true} {
		proxy := connectProxy(t, refuse)
		if e.az, err = azdo.NewClient(&e.cfg, http.ProxyURL(proxy), nil); err != nil {
			t.Fatal(err)
		}
		c := e.checkAuthority(context.Background())
		named := "http://user:xxxxx@" + proxy.Host
		switch {
		case !refuse && (!c.OK || c.Detail != authority+" answers through the proxy "+named):
			t.Fatalf("through a proxy: %+v", c)
		case refuse && (c.OK || !strings.HasSuffix(c.Detail, ": the proxy "+named+" (HTTPS_PROXY) would not connect to "+e.srv.URL[len("https://"):]+": Forbidden")):
			t.Fatalf("through a refusing proxy: %+v", c)
		}
	}
}
