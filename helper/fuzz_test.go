package helper

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func FuzzReadCreds(f *testing.F) {
	for _, s := range []string{
		"",
		"\n",
		"protocol=https\nhost=dev.azure.com\npath=contoso/demo/_git/demo\nusername=contoso\n\n",
		"protocol=https\nhost=dev.azure.com\nusername=u\npassword=p\npassword_expiry_utc=1700000000\n",
		"wwwauth[]=Bearer x\nwwwauth[]=\ncapability[]=authtype\nstate[]=a\nephemeral=true\n",
		"host=a\r\n",
		"host=\x00\n",
		"junk\n",
		"username=a=b\npassword==\n\nignored",
		"host=\xff\n",
	} {
		f.Add([]byte(s))
	}
	// The limits themselves: the longest legal line and one byte more.
	f.Add([]byte("password=" + strings.Repeat("p", maxLineBytes-len("password=")) + "\n"))
	f.Add([]byte("password=" + strings.Repeat("p", maxLineBytes+1-len("password="))))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := readCreds(bytes.NewReader(data))
		if err != nil {
			if c != nil {
				t.Fatalf("message %#v returned with error %v", c, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		for key, values := range c {
			for _, v := range values {
				if strings.ContainsAny(key+v, "\x00\r\n") {
					t.Fatalf("parsed %q=%q carries CR, LF or NUL", key, v)
				}
				if v == "" && strings.HasSuffix(key, "[]") {
					t.Fatalf("list %q holds an empty value", key)
				}
			}
		}

		// What was read writes and reads back the same, but for empty values, which are not sent.
		var out bytes.Buffer
		if err := writeCreds(&out, c); err != nil {
			t.Fatalf("writing back what was read: %v", err)
		}
		back, err := readCreds(&out)
		if err != nil {
			t.Fatalf("re-reading our own message: %v", err)
		}
		for key := range c {
			if c.Get(key) == "" {
				delete(c, key)
			}
		}
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip changed %#v into %#v", c, back)
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
		req := Creds{"protocol": {proto}, "host": {host}, "path": {path}, "username": {user}}
		r, ok, err := ParseRemote(req, extra)
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
		h := strings.ToLower(host) // an accepted host is ASCII
		allowed := h == "dev.azure.com" || h == "dev.azure.com:443" ||
			h == r.Org+".visualstudio.com" || h == r.Org+".visualstudio.com:443"
		if extra != "" { // a configured service is the only host served
			allowed = h == strings.ToLower(extra)
		}
		if !allowed {
			t.Fatalf("host %q (extra %q) is not an allowed one", host, extra)
		}
		if strings.HasSuffix(h, ".visualstudio.com") || strings.HasSuffix(h, ".visualstudio.com:443") {
			if slices.Contains(vsServiceLabels, r.Org) || strings.HasPrefix(r.Org, "xn--") {
				t.Fatalf("service or punycode label %q taken as an org", r.Org)
			}
		}
		if r.Account != "" && (r.Account != user || !validAccount(r.Account)) {
			t.Fatalf("account %q from user %q", r.Account, user)
		}
	})
}
