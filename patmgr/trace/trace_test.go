package trace

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzRedactURL: a secret in any query parameter that can carry one (whatever its case), in the
// URL's user info or in its fragment,
// never survives redaction, and redaction never panics.
func FuzzRedactURL(f *testing.F) {
	f.Add("https://login.microsoftonline.com/common/oauth2/v2.0/token", "code", "0.AAAA-secret-code-value")
	f.Add("https://dev.azure.com/contoso/_apis/tokens/pats?api-version=7.2-preview.1", "token", "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrst")
	f.Add("https://dev.azure.com/contoso/_apis/tokens/pats?api-version=7.2-preview.1", "token", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNAZDOabcd")
	f.Add("https://127.0.0.1:8443/x?a=1&b=2", "refresh_token", "rt.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("https://host/p?code=1", "access_token", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln")
	f.Add("https://host/p", "client_secret", "s3cr3t~with%weird&chars=")
	f.Add("https://host/p#frag", "device_code", "dc.XXXXXXXXXXXXXXXXXXXXXXXX")
	f.Add("https://host/p", "password", "p@ss:w/rd?#")
	f.Fuzz(func(t *testing.T, base, param, secret string) {
		if len(secret) < 8 || strings.Contains(base, secret) || strings.Contains(param, secret) {
			return
		}
		sensitive := false
		for _, k := range sensitiveParams {
			sensitive = sensitive || k == strings.ToLower(param)
		}
		u, err := url.Parse(base)
		if err != nil {
			return
		}
		// The secret in the query under param, and as the password of the user info.
		q := u.Query()
		q.Add(param, secret)
		withQuery := *u
		withQuery.RawQuery = q.Encode()
		withUser := *u
		withUser.User = url.UserPassword("user", secret)
		withFragment := *u
		withFragment.Fragment = param + "=" + secret
		for _, v := range []*url.URL{&withQuery, &withUser, &withFragment} {
			out := redactURL(v)
			if v == &withQuery && !sensitive {
				continue
			}
			for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
				if strings.Contains(out, form) {
					t.Fatalf("redactURL(%q) = %q still holds the secret", v.String(), out)
				}
			}
		}
	})
}
