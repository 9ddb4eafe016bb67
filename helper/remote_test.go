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
		host    string
		org     string
		account string
	}
	notOurs := want{}
	tests := []struct {
		name  string
		req   Request
		extra string
		want  want
	}{
		// dev.azure.com, the ordinary cases.
		{"path org", Request{Protocol: "https", Host: "dev.azure.com", Path: "contoso/demo/_git/demo"}, "",
			want{ok: true, host: "dev.azure.com", org: "contoso"}},
		{"path org only segment", Request{Protocol: "https", Host: "dev.azure.com", Path: "contoso"}, "",
			want{ok: true, host: "dev.azure.com", org: "contoso"}},
		{"org from user name", Request{Protocol: "https", Host: "dev.azure.com", Username: "contoso"}, "",
			want{ok: true, host: "dev.azure.com", org: "contoso"}},
		{"org lower-cased", Request{Protocol: "https", Host: "dev.azure.com", Path: "ConToso/x"}, "",
			want{ok: true, host: "dev.azure.com", org: "contoso"}},
		{"user-name org lower-cased", Request{Protocol: "https", Host: "dev.azure.com", Username: "FabRikam"}, "",
			want{ok: true, host: "dev.azure.com", org: "fabrikam"}},
		{"path wins over user name", Request{Protocol: "https", Host: "dev.azure.com", Path: "contoso/p", Username: "fabrikam"}, "",
			want{ok: true, host: "dev.azure.com", org: "contoso"}},
		{"account from user name", Request{Protocol: "https", Host: "dev.azure.com", Path: "contoso/p", Username: "alice@contoso.example"}, "",
			want{ok: true, host: "dev.azure.com", org: "contoso", account: "alice@contoso.example"}},
		{"account without path has no org", Request{Protocol: "https", Host: "dev.azure.com", Username: "alice@contoso.example"}, "",
			want{err: "cannot tell the organisation for dev.azure.com: set credential.https://dev.azure.com.useHttpPath=true"}},
		{"no path no user", Request{Protocol: "https", Host: "dev.azure.com"}, "",
			want{err: "cannot tell the organisation for dev.azure.com: set credential.https://dev.azure.com.useHttpPath=true (git-credential-azdo configure does it)"}},
		{"user name not an org", Request{Protocol: "https", Host: "dev.azure.com", Username: "john.smith"}, "",
			want{err: "useHttpPath"}},
		{"explicit :443", Request{Protocol: "https", Host: "dev.azure.com:443", Path: "contoso"}, "",
			want{ok: true, host: "dev.azure.com:443", org: "contoso"}},
		{"mixed-case host", Request{Protocol: "https", Host: "DEV.Azure.COM", Path: "contoso"}, "",
			want{ok: true, host: "dev.azure.com", org: "contoso"}},
		{"upper-case protocol", Request{Protocol: "HTTPS", Host: "dev.azure.com", Path: "contoso"}, "",
			want{ok: true, host: "dev.azure.com", org: "contoso"}},
		{"50-char org", Request{Protocol: "https", Host: "dev.azure.com", Path: strings.Repeat("a", 50)}, "",
			want{ok: true, host: "dev.azure.com", org: strings.Repeat("a", 50)}},
		{"org with inner hyphen and digits", Request{Protocol: "https", Host: "dev.azure.com", Path: "my-org-2/p"}, "",
			want{ok: true, host: "dev.azure.com", org: "my-org-2"}},
		{"leading slashes in path", Request{Protocol: "https", Host: "dev.azure.com", Path: "//contoso/p"}, "",
			want{ok: true, host: "dev.azure.com", org: "contoso"}},
		{"an escape in path= was %25 in the URL", Request{Protocol: "https", Host: "dev.azure.com", Path: "%63ontoso/p"}, "",
			want{err: "not a valid organisation"}},

		// Protocol.
		{"plain http", Request{Protocol: "http", Host: "dev.azure.com", Path: "contoso"}, "",
			want{err: "refusing plain http to dev.azure.com: use https"}},
		{"plain HTTP upper", Request{Protocol: "HTTP", Host: "dev.azure.com", Path: "contoso"}, "",
			want{err: "refusing plain http to dev.azure.com: use https"}},
		{"no protocol", Request{Host: "dev.azure.com", Path: "contoso"}, "",
			want{err: "use https"}},
		{"ssh protocol", Request{Protocol: "ssh", Host: "dev.azure.com", Path: "contoso"}, "",
			want{err: `refusing protocol "ssh"`}},
		{"http to visualstudio", Request{Protocol: "http", Host: "contoso.visualstudio.com"}, "",
			want{err: "refusing plain http to contoso.visualstudio.com"}},
		{"http to a host that is not ours is not our business", Request{Protocol: "http", Host: "example.com"}, "",
			notOurs},

		// Bad orgs on dev.azure.com: ours, but unusable.
		{"traversal in path", Request{Protocol: "https", Host: "dev.azure.com", Path: "../etc/passwd"}, "",
			want{err: "not a valid organisation"}},
		{"encoded traversal", Request{Protocol: "https", Host: "dev.azure.com", Path: "..%2fevil/x"}, "",
			want{err: "not a valid organisation"}},
		{"encoded dots", Request{Protocol: "https", Host: "dev.azure.com", Path: "%2e%2e/x"}, "",
			want{err: "not a valid organisation"}},
		{"encoded slash inside org", Request{Protocol: "https", Host: "dev.azure.com", Path: "con%2Ftoso"}, "",
			want{err: "not a valid organisation"}},
		{"double-encoded percent", Request{Protocol: "https", Host: "dev.azure.com", Path: "%252e%252e"}, "",
			want{err: "not a valid organisation"}},
		{"malformed escape", Request{Protocol: "https", Host: "dev.azure.com", Path: "con%zztoso"}, "",
			want{err: "not a valid organisation"}},
		{"truncated escape", Request{Protocol: "https", Host: "dev.azure.com", Path: "contoso%2"}, "",
			want{err: "not a valid organisation"}},
		// git decoded the URL's path once already: decoding it again would name "aa".
		{"escape git left", Request{Protocol: "https", Host: "dev.azure.com", Path: "a%41/p/_git/r"}, "",
			want{err: "not a valid organisation"}},
		{"dot org", Request{Protocol: "https", Host: "dev.azure.com", Path: "./x"}, "",
			want{err: "not a valid organisation"}},
		{"dotted org", Request{Protocol: "https", Host: "dev.azure.com", Path: "con.toso"}, "",
			want{err: "not a valid organisation"}},
		{"space in org", Request{Protocol: "https", Host: "dev.azure.com", Path: "con toso/x"}, "",
			want{err: "not a valid organisation"}},
		{"encoded space in org", Request{Protocol: "https", Host: "dev.azure.com", Path: "con%20toso"}, "",
			want{err: "not a valid organisation"}},
		{"leading hyphen", Request{Protocol: "https", Host: "dev.azure.com", Path: "-contoso"}, "",
			want{err: "not a valid organisation"}},
		{"trailing hyphen", Request{Protocol: "https", Host: "dev.azure.com", Path: "contoso-"}, "",
			want{err: "not a valid organisation"}},
		{"51-char org", Request{Protocol: "https", Host: "dev.azure.com", Path: strings.Repeat("a", 51)}, "",
			want{err: "not a valid organisation"}},
		{"underscore in org", Request{Protocol: "https", Host: "dev.azure.com", Path: "con_toso"}, "",
			want{err: "not a valid organisation"}},
		{"unicode org", Request{Protocol: "https", Host: "dev.azure.com", Path: "cöntoso"}, "",
			want{err: "not a valid organisation"}},
		{"kelvin sign org", Request{Protocol: "https", Host: "dev.azure.com", Path: "\u212aontoso"}, "",
			want{err: "not a valid organisation"}},
		{"encoded NUL", Request{Protocol: "https", Host: "dev.azure.com", Path: "con%00toso"}, "",
			want{err: "not a valid organisation"}},
		{"non-UTF-8 path", Request{Protocol: "https", Host: "dev.azure.com", Path: "\xff\xfe/x"}, "",
			want{err: "not a valid organisation"}},
		{"path of only slashes", Request{Protocol: "https", Host: "dev.azure.com", Path: "///"}, "",
			want{err: "no organisation segment"}},
		{"bad path does not fall back to user name", Request{Protocol: "https", Host: "dev.azure.com", Path: "../x", Username: "contoso"}, "",
			want{err: "not a valid organisation"}},
		{"bad account", Request{Protocol: "https", Host: "dev.azure.com", Path: "contoso", Username: "a@b@c"}, "",
			want{err: "not a usable account"}},
		{"account with space", Request{Protocol: "https", Host: "dev.azure.com", Path: "contoso", Username: "a b@c"}, "",
			want{err: "not a usable account"}},
		{"account with empty domain", Request{Protocol: "https", Host: "dev.azure.com", Path: "contoso", Username: "alice@"}, "",
			want{err: "not a usable account"}},
		{"account with control char", Request{Protocol: "https", Host: "dev.azure.com", Path: "contoso", Username: "a\x1b[31m@c"}, "",
			want{err: "not a usable account"}},

		// Look-alike hosts: not ours, quietly.
		{"suffix attack", Request{Protocol: "https", Host: "dev.azure.com.evil.example", Path: "contoso"}, "", notOurs},
		{"prefix attack", Request{Protocol: "https", Host: "xdev.azure.com", Path: "contoso"}, "", notOurs},
		{"subdomain", Request{Protocol: "https", Host: "x.dev.azure.com", Path: "contoso"}, "", notOurs},
		{"hyphen for dot", Request{Protocol: "https", Host: "dev-azure.com", Path: "contoso"}, "", notOurs},
		{"trailing dot", Request{Protocol: "https", Host: "dev.azure.com.", Path: "contoso"}, "", notOurs},
		{"trailing dot with port", Request{Protocol: "https", Host: "dev.azure.com.:443", Path: "contoso"}, "", notOurs},
		{"userinfo in host", Request{Protocol: "https", Host: "dev.azure.com@evil.com", Path: "contoso"}, "", notOurs},
		{"userinfo pointing at us", Request{Protocol: "https", Host: "evil.com@dev.azure.com", Path: "contoso"}, "", notOurs},
		{"slash in host", Request{Protocol: "https", Host: "evil.com/dev.azure.com", Path: "contoso"}, "", notOurs},
		{"backslash in host", Request{Protocol: "https", Host: `evil.com\dev.azure.com`}, "", notOurs},
		{"other port", Request{Protocol: "https", Host: "dev.azure.com:8443", Path: "contoso"}, "", notOurs},
		{"port with leading zero", Request{Protocol: "https", Host: "dev.azure.com:0443", Path: "contoso"}, "", notOurs},
		{"empty port", Request{Protocol: "https", Host: "dev.azure.com:", Path: "contoso"}, "", notOurs},
		{"cyrillic a", Request{Protocol: "https", Host: "dev.\u0430zure.com", Path: "contoso"}, "", notOurs},
		{"fullwidth dot", Request{Protocol: "https", Host: "dev\uff0eazure.com", Path: "contoso"}, "", notOurs},
		{"punycode lookalike", Request{Protocol: "https", Host: "xn--dev-azure-com.example", Path: "contoso"}, "", notOurs},
		{"punycode vs org", Request{Protocol: "https", Host: "xn--contso-7ya.visualstudio.com"}, "", notOurs},
		{"dotless i in visualstudio", Request{Protocol: "https", Host: "contoso.v\u0130sualstudio.com"}, "", notOurs},
		{"kelvin sign in vs org", Request{Protocol: "https", Host: "\u212aontoso.visualstudio.com"}, "", notOurs},
		{"space around host", Request{Protocol: "https", Host: " dev.azure.com", Path: "contoso"}, "", notOurs},
		{"NUL in host", Request{Protocol: "https", Host: "dev.azure.com\x00.evil", Path: "contoso"}, "", notOurs},
		{"empty host", Request{Protocol: "https", Path: "contoso"}, "", notOurs},
		{"IPv6 literal", Request{Protocol: "https", Host: "[::1]:443", Path: "contoso"}, "", notOurs},
		{"IPv4 literal", Request{Protocol: "https", Host: "13.107.42.20", Path: "contoso"}, "", notOurs},
		{"azure.com itself", Request{Protocol: "https", Host: "azure.com", Path: "contoso"}, "", notOurs},
		{"vssps.dev.azure.com is not a git host", Request{Protocol: "https", Host: "vssps.dev.azure.com", Path: "contoso"}, "", notOurs},
		{"github", Request{Protocol: "https", Host: "github.com", Path: "contoso/x"}, "", notOurs},

		// visualstudio.com.
		{"vs org", Request{Protocol: "https", Host: "contoso.visualstudio.com", Path: "DefaultCollection/p/_git/r"}, "",
			want{ok: true, host: "contoso.visualstudio.com", org: "contoso"}},
		{"vs org mixed case", Request{Protocol: "https", Host: "ConToso.VisualStudio.com"}, "",
			want{ok: true, host: "contoso.visualstudio.com", org: "contoso"}},
		{"vs org :443", Request{Protocol: "https", Host: "contoso.visualstudio.com:443"}, "",
			want{ok: true, host: "contoso.visualstudio.com:443", org: "contoso"}},
		{"vs plain user name ignored", Request{Protocol: "https", Host: "contoso.visualstudio.com", Username: "fabrikam"}, "",
			want{ok: true, host: "contoso.visualstudio.com", org: "contoso"}},
		{"vs account", Request{Protocol: "https", Host: "contoso.visualstudio.com", Username: "bob@fabrikam.example"}, "",
			want{ok: true, host: "contoso.visualstudio.com", org: "contoso", account: "bob@fabrikam.example"}},
		{"vs path traversal is irrelevant", Request{Protocol: "https", Host: "contoso.visualstudio.com", Path: "..%2f../x"}, "",
			want{ok: true, host: "contoso.visualstudio.com", org: "contoso"}},
		{"vs other port", Request{Protocol: "https", Host: "contoso.visualstudio.com:8443"}, "", notOurs},
		{"vs two labels", Request{Protocol: "https", Host: "a.b.visualstudio.com"}, "", notOurs},
		{"vs service host vssps", Request{Protocol: "https", Host: "vssps.visualstudio.com"}, "", notOurs},
		{"vs service host app.vssps", Request{Protocol: "https", Host: "app.vssps.visualstudio.com"}, "", notOurs},
		{"vs service host app", Request{Protocol: "https", Host: "app.visualstudio.com"}, "", notOurs},
		{"vs service host status", Request{Protocol: "https", Host: "STATUS.visualstudio.com"}, "", notOurs},
		{"vs release host", Request{Protocol: "https", Host: "contoso.vsrm.visualstudio.com"}, "", notOurs},
		{"bare visualstudio.com", Request{Protocol: "https", Host: "visualstudio.com"}, "", notOurs},
		{"empty vs label", Request{Protocol: "https", Host: ".visualstudio.com"}, "", notOurs},
		{"vs suffix attack", Request{Protocol: "https", Host: "foo.visualstudio.com.evil"}, "", notOurs},
		{"vs suffix attack with port", Request{Protocol: "https", Host: "foo.visualstudio.com.evil:443"}, "", notOurs},
		{"vs glued", Request{Protocol: "https", Host: "foovisualstudio.com"}, "", notOurs},
		{"vs underscore label", Request{Protocol: "https", Host: "foo_bar.visualstudio.com"}, "", notOurs},
		{"vs hyphen-led label", Request{Protocol: "https", Host: "-foo.visualstudio.com"}, "", notOurs},
		{"vs 51-char label", Request{Protocol: "https", Host: strings.Repeat("a", 51) + ".visualstudio.com"}, "", notOurs},
		{"vs userinfo in host", Request{Protocol: "https", Host: "evil@contoso.visualstudio.com"}, "", notOurs},
		{"vs slash in host", Request{Protocol: "https", Host: "evil/contoso.visualstudio.com"}, "", notOurs},
		{"vs trailing dot", Request{Protocol: "https", Host: "contoso.visualstudio.com."}, "", notOurs},
		{"vs double port", Request{Protocol: "https", Host: "contoso.visualstudio.com:443:443"}, "", notOurs},

		// ServiceHost.
		{"extra host", Request{Protocol: "https", Host: emu, Path: "contoso/demo/_git/demo"}, emu,
			want{ok: true, host: emu, org: "contoso"}},
		{"extra host user-name org", Request{Protocol: "https", Host: emu, Username: "contoso"}, emu,
			want{ok: true, host: emu, org: "contoso"}},
		{"extra host case-insensitive", Request{Protocol: "https", Host: "Proxy.Example:9000", Path: "c"}, "proxy.EXAMPLE:9000",
			want{ok: true, host: "proxy.example:9000", org: "c"}},
		{"extra host other port", Request{Protocol: "https", Host: "127.0.0.1:8444", Path: "contoso"}, emu, notOurs},
		{"extra host without port", Request{Protocol: "https", Host: "127.0.0.1", Path: "contoso"}, emu, notOurs},
		{"extra host port prefix", Request{Protocol: "https", Host: "127.0.0.1:84430", Path: "contoso"}, emu, notOurs},
		{"extra host not configured", Request{Protocol: "https", Host: emu, Path: "contoso"}, "", notOurs},
		{"extra host http", Request{Protocol: "http", Host: emu, Path: "contoso"}, emu,
			want{err: "refusing plain http to 127.0.0.1:8443: use https"}},
		{"extra host no org", Request{Protocol: "https", Host: emu}, emu,
			want{err: "set credential.https://127.0.0.1:8443.useHttpPath=true"}},
		{"extra host traversal", Request{Protocol: "https", Host: emu, Path: "..%2F..%2Fetc"}, emu,
			want{err: "not a valid organisation"}},
		{"extra IPv6 host", Request{Protocol: "https", Host: "[::1]:8443", Path: "contoso"}, "[::1]:8443",
			want{ok: true, host: "[::1]:8443", org: "contoso"}},
		// Its PATs are made at the service and good nowhere else.
		{"service host: dev.azure.com is not served", Request{Protocol: "https", Host: "dev.azure.com", Path: "contoso"}, emu, notOurs},
		{"service host: visualstudio.com is not served", Request{Protocol: "https", Host: "contoso.visualstudio.com"}, emu, notOurs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			r, ok, err := ParseRemote(&req, RemoteOptions{ServiceHost: tt.extra})
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
			want := Remote{Host: tt.want.host, Org: tt.want.org, Account: tt.want.account}
			if r != want {
				t.Errorf("remote = %+v, want %+v", r, want)
			}
		})
	}
}

func TestParseRemoteNil(t *testing.T) {
	r, ok, err := ParseRemote(nil, RemoteOptions{})
	if ok || err != nil || r != (Remote{}) {
		t.Fatalf("ParseRemote(nil) = %+v, %v, %v", r, ok, err)
	}
}

// The request goes through the real parser too, so the url= expansion and
// ParseRemote agree on what a hostile URL means.
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
		{url: "https://dev.azure.com@evil.example/contoso"},
		{url: "https://evil.example?@dev.azure.com/contoso"},
		{url: "https://evil.example#@dev.azure.com/contoso"},
		{url: "https://a@b@dev.azure.com/contoso"},
		{url: "https://dev.azure.com%2F@evil.example/contoso"},
		{url: "https://dev%2eazure.com/contoso", ok: true, org: "contoso"}, // git decodes the host itself
		{url: "https://dev.azure.com%00.evil/contoso", errSub: "control character"},
		{url: "https://dev.azure.com/..%252f/x", errSub: "not a valid organisation"},
		{url: "https://dev.azure.com/%2e%2e%2fevil", errSub: "not a valid organisation"},
		{url: "https://dev.azure.com/%63ontoso/p", ok: true, org: "contoso"}, // decoded once, as git does
		{url: "https://dev.azure.com/a%2541/b", errSub: "not a valid organisation"},
		{url: "http://dev.azure.com/contoso", errSub: "plain http"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			req, err := ReadRequest(strings.NewReader("url=" + tt.url + "\n"))
			if err == nil {
				var r Remote
				var ok bool
				r, ok, err = ParseRemote(req, RemoteOptions{})
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
