package helper

import (
	"strings"
	"testing"
)

func TestParseRemote(t *testing.T) {
	const emu = "127.0.0.1:8443"
	type want struct {
		ok      bool
		err     string // substring; "" = no error
		org     string
		account string
	}
	notOurs := want{}
	tests := []struct {
		name  string
		req   fields
		extra string
		want  want
	}{
		// dev.azure.com, the ordinary cases.
		{"path org", fields{Protocol: "https", Host: "dev.azure.com", Path: "contoso/demo/_git/demo"}, "",
			want{ok: true, org: "contoso"}},
		{"path org only segment", fields{Protocol: "https", Host: "dev.azure.com", Path: "contoso"}, "",
			want{ok: true, org: "contoso"}},
		{"org from user name", fields{Protocol: "https", Host: "dev.azure.com", Username: "contoso"}, "",
			want{ok: true, org: "contoso"}},
		{"org lower-cased", fields{Protocol: "https", Host: "dev.azure.com", Path: "ConToso/x"}, "",
			want{ok: true, org: "contoso"}},
		{"user-name org lower-cased", fields{Protocol: "https", Host: "dev.azure.com", Username: "FabRikam"}, "",
			want{ok: true, org: "fabrikam"}},
		{"path wins over user name", fields{Protocol: "https", Host: "dev.azure.com", Path: "contoso/p", Username: "fabrikam"}, "",
			want{ok: true, org: "contoso"}},
		{"account from user name", fields{Protocol: "https", Host: "dev.azure.com", Path: "contoso/p", Username: "alice@contoso.example"}, "",
			want{ok: true, org: "contoso", account: "alice@contoso.example"}},
		{"account without path has no org", fields{Protocol: "https", Host: "dev.azure.com", Username: "alice@contoso.example"}, "",
			want{err: "cannot tell the organisation for dev.azure.com: set credential.https://dev.azure.com.useHttpPath=true"}},
		{"no path no user", fields{Protocol: "https", Host: "dev.azure.com"}, "",
			want{err: "cannot tell the organisation for dev.azure.com: set credential.https://dev.azure.com.useHttpPath=true (git-credential-azdo configure does it)"}},
		{"user name not an org", fields{Protocol: "https", Host: "dev.azure.com", Username: "john.smith"}, "",
			want{err: "useHttpPath"}},
		{"explicit :443", fields{Protocol: "https", Host: "dev.azure.com:443", Path: "contoso"}, "",
			want{ok: true, org: "contoso"}},
		{"mixed-case host", fields{Protocol: "https", Host: "DEV.Azure.COM", Path: "contoso"}, "",
			want{ok: true, org: "contoso"}},
		{"upper-case protocol", fields{Protocol: "HTTPS", Host: "dev.azure.com", Path: "contoso"}, "",
			want{ok: true, org: "contoso"}},
		{"50-char org", fields{Protocol: "https", Host: "dev.azure.com", Path: strings.Repeat("a", 50)}, "",
			want{ok: true, org: strings.Repeat("a", 50)}},
		{"org with inner hyphen and digits", fields{Protocol: "https", Host: "dev.azure.com", Path: "my-org-2/p"}, "",
			want{ok: true, org: "my-org-2"}},
		{"leading slashes in path", fields{Protocol: "https", Host: "dev.azure.com", Path: "//contoso/p"}, "",
			want{ok: true, org: "contoso"}},
		{"an escape in path= was %25 in the URL", fields{Protocol: "https", Host: "dev.azure.com", Path: "%63ontoso/p"}, "",
			want{err: "not a valid organisation"}},

		// Protocol.
		{"plain http", fields{Protocol: "http", Host: "dev.azure.com", Path: "contoso"}, "",
			want{err: "refusing plain http to dev.azure.com: use https"}},
		{"plain HTTP upper", fields{Protocol: "HTTP", Host: "dev.azure.com", Path: "contoso"}, "",
			want{err: "refusing plain http to dev.azure.com: use https"}},
		{"no protocol", fields{Host: "dev.azure.com", Path: "contoso"}, "",
			want{err: "use https"}},
		{"ssh protocol", fields{Protocol: "ssh", Host: "dev.azure.com", Path: "contoso"}, "",
			want{err: `refusing protocol "ssh"`}},
		{"http to visualstudio", fields{Protocol: "http", Host: "contoso.visualstudio.com"}, "",
			want{err: "refusing plain http to contoso.visualstudio.com"}},
		{"http to a host that is not ours is not our business", fields{Protocol: "http", Host: "example.com"}, "",
			notOurs},

		// Bad orgs on dev.azure.com: ours, but unusable.
		{"traversal in path", fields{Protocol: "https", Host: "dev.azure.com", Path: "../etc/passwd"}, "",
			want{err: "not a valid organisation"}},
		{"encoded traversal", fields{Protocol: "https", Host: "dev.azure.com", Path: "..%2fevil/x"}, "",
			want{err: "not a valid organisation"}},
		{"encoded dots", fields{Protocol: "https", Host: "dev.azure.com", Path: "%2e%2e/x"}, "",
			want{err: "not a valid organisation"}},
		{"encoded slash inside org", fields{Protocol: "https", Host: "dev.azure.com", Path: "con%2Ftoso"}, "",
			want{err: "not a valid organisation"}},
		{"double-encoded percent", fields{Protocol: "https", Host: "dev.azure.com", Path: "%252e%252e"}, "",
			want{err: "not a valid organisation"}},
		{"malformed escape", fields{Protocol: "https", Host: "dev.azure.com", Path: "con%zztoso"}, "",
			want{err: "not a valid organisation"}},
		{"truncated escape", fields{Protocol: "https", Host: "dev.azure.com", Path: "contoso%2"}, "",
			want{err: "not a valid organisation"}},
		// git decoded the URL's path once already: decoding it again would name "aa".
		{"escape git left", fields{Protocol: "https", Host: "dev.azure.com", Path: "a%41/p/_git/r"}, "",
			want{err: "not a valid organisation"}},
		{"dot org", fields{Protocol: "https", Host: "dev.azure.com", Path: "./x"}, "",
			want{err: "not a valid organisation"}},
		{"dotted org", fields{Protocol: "https", Host: "dev.azure.com", Path: "con.toso"}, "",
			want{err: "not a valid organisation"}},
		{"space in org", fields{Protocol: "https", Host: "dev.azure.com", Path: "con toso/x"}, "",
			want{err: "not a valid organisation"}},
		{"encoded space in org", fields{Protocol: "https", Host: "dev.azure.com", Path: "con%20toso"}, "",
			want{err: "not a valid organisation"}},
		{"leading hyphen", fields{Protocol: "https", Host: "dev.azure.com", Path: "-contoso"}, "",
			want{err: "not a valid organisation"}},
		{"trailing hyphen", fields{Protocol: "https", Host: "dev.azure.com", Path: "contoso-"}, "",
			want{err: "not a valid organisation"}},
		{"51-char org", fields{Protocol: "https", Host: "dev.azure.com", Path: strings.Repeat("a", 51)}, "",
			want{err: "not a valid organisation"}},
		{"underscore in org", fields{Protocol: "https", Host: "dev.azure.com", Path: "con_toso"}, "",
			want{err: "not a valid organisation"}},
		{"unicode org", fields{Protocol: "https", Host: "dev.azure.com", Path: "cöntoso"}, "",
			want{err: "not a valid organisation"}},
		{"kelvin sign org", fields{Protocol: "https", Host: "dev.azure.com", Path: "\u212aontoso"}, "",
			want{err: "not a valid organisation"}},
		{"encoded NUL", fields{Protocol: "https", Host: "dev.azure.com", Path: "con%00toso"}, "",
			want{err: "not a valid organisation"}},
		{"non-UTF-8 path", fields{Protocol: "https", Host: "dev.azure.com", Path: "\xff\xfe/x"}, "",
			want{err: "not a valid organisation"}},
		{"path of only slashes", fields{Protocol: "https", Host: "dev.azure.com", Path: "///"}, "",
			want{err: "no organisation segment"}},
		{"bad path does not fall back to user name", fields{Protocol: "https", Host: "dev.azure.com", Path: "../x", Username: "contoso"}, "",
			want{err: "not a valid organisation"}},
		{"bad account", fields{Protocol: "https", Host: "dev.azure.com", Path: "contoso", Username: "a@b@c"}, "",
			want{err: "not a usable account"}},
		{"account with space", fields{Protocol: "https", Host: "dev.azure.com", Path: "contoso", Username: "a b@c"}, "",
			want{err: "not a usable account"}},
		{"account with empty domain", fields{Protocol: "https", Host: "dev.azure.com", Path: "contoso", Username: "alice@"}, "",
			want{err: "not a usable account"}},
		{"account with control char", fields{Protocol: "https", Host: "dev.azure.com", Path: "contoso", Username: "a\x1b[31m@c"}, "",
			want{err: "not a usable account"}},

		// Look-alike hosts: not ours, quietly.
		{"suffix attack", fields{Protocol: "https", Host: "dev.azure.com.evil.example", Path: "contoso"}, "", notOurs},
		{"prefix attack", fields{Protocol: "https", Host: "xdev.azure.com", Path: "contoso"}, "", notOurs},
		{"subdomain", fields{Protocol: "https", Host: "x.dev.azure.com", Path: "contoso"}, "", notOurs},
		{"hyphen for dot", fields{Protocol: "https", Host: "dev-azure.com", Path: "contoso"}, "", notOurs},
		{"trailing dot", fields{Protocol: "https", Host: "dev.azure.com.", Path: "contoso"}, "", notOurs},
		{"trailing dot with port", fields{Protocol: "https", Host: "dev.azure.com.:443", Path: "contoso"}, "", notOurs},
		{"userinfo in host", fields{Protocol: "https", Host: "dev.azure.com@evil.com", Path: "contoso"}, "", notOurs},
		{"userinfo pointing at us", fields{Protocol: "https", Host: "evil.com@dev.azure.com", Path: "contoso"}, "", notOurs},
		{"slash in host", fields{Protocol: "https", Host: "evil.com/dev.azure.com", Path: "contoso"}, "", notOurs},
		{"backslash in host", fields{Protocol: "https", Host: `evil.com\dev.azure.com`}, "", notOurs},
		{"other port", fields{Protocol: "https", Host: "dev.azure.com:8443", Path: "contoso"}, "", notOurs},
		{"port with leading zero", fields{Protocol: "https", Host: "dev.azure.com:0443", Path: "contoso"}, "", notOurs},
		{"empty port", fields{Protocol: "https", Host: "dev.azure.com:", Path: "contoso"}, "", notOurs},
		{"cyrillic a", fields{Protocol: "https", Host: "dev.\u0430zure.com", Path: "contoso"}, "", notOurs},
		{"fullwidth dot", fields{Protocol: "https", Host: "dev\uff0eazure.com", Path: "contoso"}, "", notOurs},
		{"punycode lookalike", fields{Protocol: "https", Host: "xn--dev-azure-com.example", Path: "contoso"}, "", notOurs},
		{"punycode vs org", fields{Protocol: "https", Host: "xn--contso-7ya.visualstudio.com"}, "", notOurs},
		{"dotless i in visualstudio", fields{Protocol: "https", Host: "contoso.v\u0130sualstudio.com"}, "", notOurs},
		{"kelvin sign in vs org", fields{Protocol: "https", Host: "\u212aontoso.visualstudio.com"}, "", notOurs},
		{"space around host", fields{Protocol: "https", Host: " dev.azure.com", Path: "contoso"}, "", notOurs},
		{"NUL in host", fields{Protocol: "https", Host: "dev.azure.com\x00.evil", Path: "contoso"}, "", notOurs},
		{"empty host", fields{Protocol: "https", Path: "contoso"}, "", notOurs},
		{"IPv6 literal", fields{Protocol: "https", Host: "[::1]:443", Path: "contoso"}, "", notOurs},
		{"IPv4 literal", fields{Protocol: "https", Host: "13.107.42.20", Path: "contoso"}, "", notOurs},
		{"azure.com itself", fields{Protocol: "https", Host: "azure.com", Path: "contoso"}, "", notOurs},
		{"vssps.dev.azure.com is not a git host", fields{Protocol: "https", Host: "vssps.dev.azure.com", Path: "contoso"}, "", notOurs},
		{"github", fields{Protocol: "https", Host: "github.com", Path: "contoso/x"}, "", notOurs},

		// visualstudio.com.
		{"vs org", fields{Protocol: "https", Host: "contoso.visualstudio.com", Path: "DefaultCollection/p/_git/r"}, "",
			want{ok: true, org: "contoso"}},
		{"vs org mixed case", fields{Protocol: "https", Host: "ConToso.VisualStudio.com"}, "",
			want{ok: true, org: "contoso"}},
		{"vs org :443", fields{Protocol: "https", Host: "contoso.visualstudio.com:443"}, "",
			want{ok: true, org: "contoso"}},
		{"vs plain user name ignored", fields{Protocol: "https", Host: "contoso.visualstudio.com", Username: "fabrikam"}, "",
			want{ok: true, org: "contoso"}},
		{"vs account", fields{Protocol: "https", Host: "contoso.visualstudio.com", Username: "bob@fabrikam.example"}, "",
			want{ok: true, org: "contoso", account: "bob@fabrikam.example"}},
		{"vs path traversal is irrelevant", fields{Protocol: "https", Host: "contoso.visualstudio.com", Path: "..%2f../x"}, "",
			want{ok: true, org: "contoso"}},
		{"vs other port", fields{Protocol: "https", Host: "contoso.visualstudio.com:8443"}, "", notOurs},
		{"vs two labels", fields{Protocol: "https", Host: "a.b.visualstudio.com"}, "", notOurs},
		{"vs service host vssps", fields{Protocol: "https", Host: "vssps.visualstudio.com"}, "", notOurs},
		{"vs service host app.vssps", fields{Protocol: "https", Host: "app.vssps.visualstudio.com"}, "", notOurs},
		{"vs service host app", fields{Protocol: "https", Host: "app.visualstudio.com"}, "", notOurs},
		{"vs service host status", fields{Protocol: "https", Host: "STATUS.visualstudio.com"}, "", notOurs},
		{"vs release host", fields{Protocol: "https", Host: "contoso.vsrm.visualstudio.com"}, "", notOurs},
		{"bare visualstudio.com", fields{Protocol: "https", Host: "visualstudio.com"}, "", notOurs},
		{"empty vs label", fields{Protocol: "https", Host: ".visualstudio.com"}, "", notOurs},
		{"vs suffix attack", fields{Protocol: "https", Host: "foo.visualstudio.com.evil"}, "", notOurs},
		{"vs suffix attack with port", fields{Protocol: "https", Host: "foo.visualstudio.com.evil:443"}, "", notOurs},
		{"vs glued", fields{Protocol: "https", Host: "foovisualstudio.com"}, "", notOurs},
		{"vs underscore label", fields{Protocol: "https", Host: "foo_bar.visualstudio.com"}, "", notOurs},
		{"vs hyphen-led label", fields{Protocol: "https", Host: "-foo.visualstudio.com"}, "", notOurs},
		{"vs 51-char label", fields{Protocol: "https", Host: strings.Repeat("a", 51) + ".visualstudio.com"}, "", notOurs},
		{"vs userinfo in host", fields{Protocol: "https", Host: "evil@contoso.visualstudio.com"}, "", notOurs},
		{"vs slash in host", fields{Protocol: "https", Host: "evil/contoso.visualstudio.com"}, "", notOurs},
		{"vs trailing dot", fields{Protocol: "https", Host: "contoso.visualstudio.com."}, "", notOurs},
		{"vs double port", fields{Protocol: "https", Host: "contoso.visualstudio.com:443:443"}, "", notOurs},

		// ServiceHost.
		{"extra host", fields{Protocol: "https", Host: emu, Path: "contoso/demo/_git/demo"}, emu,
			want{ok: true, org: "contoso"}},
		{"extra host user-name org", fields{Protocol: "https", Host: emu, Username: "contoso"}, emu,
			want{ok: true, org: "contoso"}},
		{"extra host case-insensitive", fields{Protocol: "https", Host: "Proxy.Example:9000", Path: "c"}, "proxy.EXAMPLE:9000",
			want{ok: true, org: "c"}},
		{"extra host other port", fields{Protocol: "https", Host: "127.0.0.1:8444", Path: "contoso"}, emu, notOurs},
		{"extra host without port", fields{Protocol: "https", Host: "127.0.0.1", Path: "contoso"}, emu, notOurs},
		{"extra host port prefix", fields{Protocol: "https", Host: "127.0.0.1:84430", Path: "contoso"}, emu, notOurs},
		{"extra host not configured", fields{Protocol: "https", Host: emu, Path: "contoso"}, "", notOurs},
		{"extra host http", fields{Protocol: "http", Host: emu, Path: "contoso"}, emu,
			want{err: "refusing plain http to 127.0.0.1:8443: use https"}},
		{"extra host no org", fields{Protocol: "https", Host: emu}, emu,
			want{err: "set credential.https://127.0.0.1:8443.useHttpPath=true"}},
		{"extra host traversal", fields{Protocol: "https", Host: emu, Path: "..%2F..%2Fetc"}, emu,
			want{err: "not a valid organisation"}},
		{"extra IPv6 host", fields{Protocol: "https", Host: "[::1]:8443", Path: "contoso"}, "[::1]:8443",
			want{ok: true, org: "contoso"}},
		// Its PATs are made at the service and good nowhere else.
		{"service host: dev.azure.com is not served", fields{Protocol: "https", Host: "dev.azure.com", Path: "contoso"}, emu, notOurs},
		{"service host: visualstudio.com is not served", fields{Protocol: "https", Host: "contoso.visualstudio.com"}, emu, notOurs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok, err := ParseRemote(tt.req.creds(), tt.extra)
			if tt.want.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.want.err)
				}
				if ok {
					t.Errorf("ok = true along with an error")
				}
				if r != (Remote{}) {
					t.Errorf("remote %+v returned along with an error", r)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if ok != tt.want.ok {
				t.Fatalf("ok = %v, want %v (remote %+v)", ok, tt.want.ok, r)
			}
			want := Remote{Org: tt.want.org, Account: tt.want.account}
			if r != want {
				t.Errorf("remote = %+v, want %+v", r, want)
			}
		})
	}
}

func TestParseRemoteNil(t *testing.T) {
	r, ok, err := ParseRemote(nil, "")
	if ok || err != nil || r != (Remote{}) {
		t.Fatalf("ParseRemote(nil) = %+v, %v, %v", r, ok, err)
	}
}

// A URL typed on the command line is read by net/url, as the request git would send for it, and
// then judged like one.
func TestParseRemoteFromURL(t *testing.T) {
	tests := []struct {
		url     string
		ok      bool
		org     string
		account string
		errSub  string
	}{
		{url: "https://contoso@dev.azure.com/contoso/demo/_git/demo", ok: true, org: "contoso"},
		{url: "https://alice%40contoso.example@dev.azure.com/Contoso/p", ok: true, org: "contoso", account: "alice@contoso.example"},
		{url: "https://dev.azure.com:443/contoso", ok: true, org: "contoso"},
		{url: "https://contoso.visualstudio.com/DefaultCollection/p/_git/r", ok: true, org: "contoso"},
		{url: "https://dev.azure.com@evil.example/contoso"},
		{url: "https://evil.example?@dev.azure.com/contoso"},
		{url: "https://evil.example#@dev.azure.com/contoso"},
		{url: "https://dev.azure.com%2F@evil.example/contoso"},
		{url: "https://dev.azure.com.evil.example/contoso"},
		{url: "https://dev.azure.com:8443/contoso"},
		{url: "https://dev%2eazure.com/contoso", errSub: "invalid URL escape"},
		{url: "https://dev.azure.com%00.evil/contoso", errSub: "invalid URL escape"},
		{url: "https://dev.azure.com/..%252f/x", errSub: "not a valid organisation"},
		{url: "https://dev.azure.com/%2e%2e%2fevil", errSub: "not a valid organisation"},
		{url: "https://dev.azure.com/%63ontoso/p", ok: true, org: "contoso"}, // decoded once, as git does
		{url: "https://dev.azure.com/a%2541/b", errSub: "not a valid organisation"},
		{url: "https://dev.azure.com/", errSub: "useHttpPath"},
		{url: "http://dev.azure.com/contoso", errSub: "plain http"},
		{url: "dev.azure.com/contoso", errSub: "names no protocol and host"},
		{url: "https:contoso", errSub: "names no protocol and host"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			req, err := CredsFromURL(tt.url)
			if err == nil {
				var r Remote
				var ok bool
				r, ok, err = ParseRemote(req, "")
				if err == nil {
					if ok != tt.ok || r.Org != tt.org || r.Account != tt.account {
						t.Fatalf("got %+v ok=%v, want ok=%v org=%q account=%q", r, ok, tt.ok, tt.org, tt.account)
					}
					return
				}
			}
			if tt.errSub == "" || !strings.Contains(err.Error(), tt.errSub) {
				t.Fatalf("err = %v, want %q", err, tt.errSub)
			}
		})
	}
}

func TestValidOrg(t *testing.T) {
	for _, s := range []string{"a", "A", "0", "a-b", "a--b", "contoso", strings.Repeat("z", 50)} {
		if !validOrg(s) {
			t.Errorf("validOrg(%q) = false", s)
		}
	}
	for _, s := range []string{"", "-", "-a", "a-", "a.b", "a/b", "a%b", "a b", "..", ".", "ä", strings.Repeat("z", 51), "a\x00"} {
		if validOrg(s) {
			t.Errorf("validOrg(%q) = true", s)
		}
	}
}

// fields are the keys of a request that ParseRemote reads.
type fields struct{ Protocol, Host, Path, Username string }

func (f fields) creds() Creds {
	c := Creds{}
	for key, v := range map[string]string{"protocol": f.Protocol, "host": f.Host, "path": f.Path, "username": f.Username} {
		if v != "" {
			c[key] = []string{v}
		}
	}
	return c
}
