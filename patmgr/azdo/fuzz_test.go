package azdo

import (
	"net/url"
	"strings"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
)

// fuzzAuthorities are the configured authorities the challenge fuzzer checks against: the real
// one and an emulator-like one on a port.
var fuzzAuthorities = []string{config.DefaultAuthority, "https://127.0.0.1:8443"}

// FuzzTenantFromChallenge: whatever a server puts in WWW-Authenticate, TenantFromChallenge never
// panics, and it names a tenant only when the challenge's authorization_uri is https on a
// Microsoft login host or on the configured authority's host, with a tenant that is safe to put
// in an authority's path.
func FuzzTenantFromChallenge(f *testing.F) {
	for _, s := range []string{
		"Bearer authorization_uri=https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47",
		`Bearer authorization_uri="https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47"`,
		"Bearer authorization_uri=https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000",
		"Bearer realm=\"\", authorization_uri=https://login.windows.net/contoso.onmicrosoft.com, resource_id=499b84ac",
		"bearer AUTHORIZATION_URI=https://LOGIN.MICROSOFTONLINE.COM/Contoso.Example",
		"Bearer authorization_uri=https://127.0.0.1:8443/72f988bf-86f1-41af-91ab-2d7cd011db47",
		"Bearer authorization_uri=https://evil.example/72f988bf-86f1-41af-91ab-2d7cd011db47",
		"Bearer authorization_uri=https://login.microsoftonline.com.evil.example/organizations",
		"Bearer authorization_uri=https://login.microsoftonline.com@evil.example/common",
		"Bearer authorization_uri=http://login.microsoftonline.com/common",
		"Bearer authorization_uri=https://login.microsoftonline.com/../evil",
		"Bearer authorization_uri=https://login.microsoftonline.com/a/b",
		"Bearer authorization_uri=https://login.microsoftonline.com/common?x=1",
		"Bearer authorization_uri=https://login.microsoftonline.com/common#frag",
		"Bearer authorization_uri=https://login.microsoftonline.com:443/common",
		"Bearer authorization_uri=https://login.microsoftonline.com/%2e%2e",
		"Bearer authorization_uri=https://login.microsoftonline.com/common%2Fevil",
		"Basic realm=\"https://dev.azure.com/\"",
		"Bearer",
		"Bearer ",
		"Bearer authorization_uri=",
		"Bearer authorization_uri=\"",
		"Bearer ,,,=,=",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, challenge string) {
		for _, authority := range fuzzAuthorities {
			tenant, ok := TenantFromChallenge(challenge, authority)
			if !ok {
				if tenant != "" {
					t.Fatalf("not ok but tenant %q", tenant)
				}
				continue
			}
			if !config.ValidTenant(tenant) || tenant != strings.ToLower(tenant) {
				t.Fatalf("%q gave tenant %q, which is not a valid lower-case tenant", challenge, tenant)
			}
			if strings.ContainsAny(tenant, "/?#@:%\\") {
				t.Fatalf("%q gave tenant %q with URL syntax in it", challenge, tenant)
			}
			configured, _ := url.Parse(authority)
			trusted := false
			lc := strings.ToLower(challenge)
			for rest := lc; strings.Contains(rest, "https://"); {
				_, rest, _ = strings.Cut(rest, "https://")
				if host, _, slash := strings.Cut(rest, "/"); slash && (config.MicrosoftLoginHost(host) || host == strings.ToLower(configured.Host)) {
					trusted = true
				}
			}
			if !trusted {
				t.Fatalf("%q named tenant %q without an https authorization_uri on a trusted host (authority %s)", challenge, tenant, authority)
			}
			// The tenant came from the challenge (the all-zero GUID maps to organizations).
			if !strings.Contains(lc, tenant) && tenant != config.TenantOrganizations {
				t.Fatalf("%q gave tenant %q, which it does not contain", challenge, tenant)
			}
		}
	})
}
