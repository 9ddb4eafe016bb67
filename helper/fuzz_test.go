package helper

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		"",
		"\n",
		"protocol=https\nhost=dev.azure.com\npath=contoso/demo/_git/demo\nusername=contoso\n\n",
		"protocol=https\nhost=dev.azure.com\nusername=u\npassword=p\npassword_expiry_utc=1700000000\n",
		"wwwauth[]=Bearer x\nwwwauth[]=\ncapability[]=authtype\nstate[]=a\nephemeral=true\n",
		"url=https://u:p@dev.azure.com:443/contoso/x\n",
		"url=https://a@b@h?@x#y\n",
		"url=https://h/%0a\n",
		"host=a\r\n",
		"host=\x00\n",
		"junk\n",
		"username=a=b\npassword==\n\nignored",
		"host=\xff\n",
		"url=://\n",
	} {
		f.Add([]byte(s))
	}
	// The limits themselves: the longest legal line and one byte more.
	f.Add([]byte("password=" + strings.Repeat("p", MaxLineBytes-len("password=")) + "\n"))
	f.Add([]byte("password=" + strings.Repeat("p", MaxLineBytes+1-len("password="))))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ReadRequest(bytes.NewReader(data))
		if err != nil {
			if req != nil {
				t.Fatalf("request %#v returned with error %v", req, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		for _, v := range []string{req.Protocol, req.Host, req.Path, req.Username, req.Password,
			req.PasswordExpiryUTC, req.OAuthRefreshToken, req.URL, req.AuthType, req.Credential} {
			if strings.ContainsAny(v, "\x00\r\n") {
				t.Fatalf("parsed value %q carries CR, LF or NUL", v)
			}
		}
		for _, list := range [][]string{req.WWWAuth, req.Capabilities, req.State} {
			for _, v := range list {
				if v == "" || strings.ContainsAny(v, "\x00\r\n") {
					t.Fatalf("list value %q is empty or carries CR, LF or NUL", v)
				}
			}
		}
		_ = req.Validate() // must not panic

		var out bytes.Buffer
		if err := WriteResponse(&out, Response{Username: req.Username, Password: req.Password}); err != nil {
			if out.Len() != 0 {
				t.Fatalf("WriteResponse failed (%v) yet wrote %q", err, out.String())
			}
			return
		}
		back, err := ReadRequest(&out)
		if err != nil {
			t.Fatalf("re-reading our own response: %v", err)
		}
		if back.Username != req.Username || back.Password != req.Password {
			t.Fatalf("round trip changed %q/%q into %q/%q", req.Username, req.Password, back.Username, back.Password)
		}
	})
}

func FuzzParseRemote(f *testing.F) {
	for _, s := range []struct{ proto, host, path, user, extra string }{
		{"https", "dev.azure.com", "contoso/demo/_git/demo", "", ""},
		{"https", "dev.azure.com:443", "", "contoso", ""},
		{"https", "dev.azure.com", "", "alice@contoso.example", ""},
		{"https", "contoso.visualstudio.com", "DefaultCollection", "", ""},
		{"https", "vssps.visualstudio.com", "", "", ""},
		{"http", "dev.azure.com", "contoso", "", ""},
		{"https", "dev.azure.com", "..%2fevil", "", ""},
		{"https", "dev.azure.com", "%63ontoso", "", ""},
		{"https", "dev.azure.com.evil.example", "contoso", "", ""},
		{"https", "\u212aontoso.visualstudio.com", "", "", ""},
		{"https", "127.0.0.1:8443", "contoso", "", "127.0.0.1:8443"},
		{"https", "127.0.0.1:8444", "contoso", "", "127.0.0.1:8443"},
		{"https", "[::1]:1", "a", "", "[::1]:1"},
	} {
		f.Add(s.proto, s.host, s.path, s.user, s.extra)
	}
	f.Fuzz(func(t *testing.T, proto, host, path, user, extra string) {
		req := &Request{Protocol: proto, Host: host, Path: path, Username: user}
		r, ok, err := ParseRemote(req, RemoteOptions{ServiceHost: extra})
		if err != nil {
			if ok || r != (Remote{}) {
				t.Fatalf("error %v came with ok=%v remote=%+v", err, ok, r)
			}
			return
		}
		if !ok {
			if r != (Remote{}) {
				t.Fatalf("not ours yet remote %+v", r)
			}
			return
		}
		if !validOrg(r.Org) || r.Org != strings.ToLower(r.Org) {
			t.Fatalf("org %q is not a valid lower-case org", r.Org)
		}
		if !strings.EqualFold(proto, "https") {
			t.Fatalf("accepted protocol %q", proto)
		}
		allowed := r.Host == "dev.azure.com" || r.Host == "dev.azure.com:443" ||
			r.Host == r.Org+".visualstudio.com" || r.Host == r.Org+".visualstudio.com:443"
		if extra != "" { // a configured service is the only host served
			allowed = r.Host == asciiLower(extra)
		}
		if !allowed || !strings.EqualFold(r.Host, host) {
			t.Fatalf("host %q (from %q, extra %q) is not an allowed one", r.Host, host, extra)
		}
		if strings.HasSuffix(r.Host, ".visualstudio.com") || strings.HasSuffix(r.Host, ".visualstudio.com:443") {
			if isVSServiceLabel(r.Org) || strings.HasPrefix(r.Org, "xn--") {
				t.Fatalf("service or punycode label %q taken as an org", r.Org)
			}
		}
		if r.Account != "" && (r.Account != user || !validAccount(r.Account)) {
			t.Fatalf("account %q from user %q", r.Account, user)
		}
	})
}
