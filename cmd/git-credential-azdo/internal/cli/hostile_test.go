package cli

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
)

// connectCounter is an HTTPS proxy that refuses everything and remembers what was asked of it.
// With HTTPS_PROXY pointing at it, any request the helper makes to a host other than the
// (loopback, never proxied) emulator shows up here.
type connectCounter struct {
	ln    net.Listener
	mu    sync.Mutex
	hosts []string
}

func newConnectCounter(t *testing.T) *connectCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &connectCounter{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				line, _ := bufio.NewReader(conn).ReadString('\n')
				c.mu.Lock()
				c.hosts = append(c.hosts, strings.TrimSpace(line))
				c.mu.Unlock()
				conn.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
			}()
		}
	}()
	return c
}

func (c *connectCounter) url() string { return "http://" + c.ln.Addr().String() }

func (c *connectCounter) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.hosts...)
}

// Expected outcomes of a hostile request.
const (
	refused  = "refused" // non-zero exit, one stderr line
	passed   = "passed"  // exit 0, nothing printed: git asks its next helper
	eitherOf = "either"  // refused or passed; both keep the token home
	// ours: by git's own URL rules the request is for the emulator after all (git decodes %XX in
	// a url's host and splits user info at the first '@'). With --login=never it must end in
	// the one-line sign-in message, with no request but the anonymous tenant discovery.
	ours     = "ours"
	hostHole = "%HOST%" // replaced by the emulator's host:port
	portHole = "%PORT%" // replaced by the emulator's port
	evilHole = "%EVIL%" // replaced by an attacker's https host:port
	guidEvil = "d3adbeef-0000-4000-8000-00000000e411"
)

type hostileCase struct {
	name   string
	input  string // with the holes above
	raw    []byte // used instead of input when set
	want   string
	config string // "emulator" (default) or "azure": the stock configuration for dev.azure.com
}

func hostileCases() []hostileCase {
	repo := "path=contoso/demo/_git/demo\n"
	junk := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range junk {
		junk[i] = byte(rng.UintN(256))
	}
	oneMiB := "protocol=https\nhost=" + hostHole + "\npath=contoso/" + strings.Repeat("a", 1<<20) + "\n\n"
	manyLines := "protocol=https\nhost=" + hostHole + "\n" + strings.Repeat("x-junk=0123456789abcdef\n", (1<<20)/24) + "\n"
	return []hostileCase{
		// Empty and junk.
		{name: "empty input", input: "", want: eitherOf},
		{name: "blank line only", input: "\n", want: eitherOf},
		{name: "no host", input: "protocol=https\n" + repo + "\n", want: eitherOf},
		{name: "binary junk", raw: junk, want: refused},
		{name: "junk after a valid request line", raw: append([]byte("protocol=https\nhost="+hostHole+"\n"), junk...), want: refused},
		{name: "line without '='", input: "protocol=https\nhost" + hostHole + "\n" + repo + "\n", want: refused},
		{name: "1 MiB path", input: oneMiB, want: refused},
		{name: "1 MiB of lines", input: manyLines, want: refused},
		// Lookalike hosts.
		{name: "emulator host as a prefix", input: "protocol=https\nhost=" + hostHole + ".evil.example\n" + repo + "\n", want: eitherOf},
		{name: "emulator host as a suffix", input: "protocol=https\nhost=x" + hostHole + "\n" + repo + "\n", want: passed},
		{name: "emulator IP in a domain", input: "protocol=https\nhost=127.0.0.1.evil.example:" + portHole + "\n" + repo + "\n", want: passed},
		{name: "trailing dot", input: "protocol=https\nhost=127.0.0.1.:" + portHole + "\n" + repo + "\n", want: passed},
		{name: "localhost for 127.0.0.1", input: "protocol=https\nhost=LOCALHOST:" + portHole + "\n" + repo + "\n", want: passed},
		{name: "unicode zero-width in host", input: "protocol=https\nhost=" + hostHole + "\u200b\n" + repo + "\n", want: eitherOf},
		// Ports.
		{name: "other port", input: "protocol=https\nhost=127.0.0.1:1\n" + repo + "\n", want: passed},
		{name: "no port", input: "protocol=https\nhost=127.0.0.1\n" + repo + "\n", want: passed},
		{name: "port with leading zero", input: "protocol=https\nhost=127.0.0.1:0" + portHole + "\n" + repo + "\n", want: eitherOf},
		{name: "empty port", input: "protocol=https\nhost=127.0.0.1:\n" + repo + "\n", want: eitherOf},
		{name: "port then junk", input: "protocol=https\nhost=" + hostHole + "x\n" + repo + "\n", want: eitherOf},
		// User info tricks.
		{name: "userinfo in host", input: "protocol=https\nhost=" + hostHole + "@evil.example\n" + repo + "\n", want: eitherOf},
		// git expands a url= itself and hands helpers its parts: these are the parts of URLs with
		// user information that names another host.
		{name: "emulator as userinfo of evil", input: "protocol=https\nhost=evil.example\nusername=" + hostHole + "\n" + repo + "\n", want: passed},
		{name: "emulator as password of evil", input: "protocol=https\nhost=evil.example\nusername=x\npassword=" + hostHole + "\n" + repo + "\n", want: passed},
		{name: "backslash in userinfo", input: "protocol=https\nhost=" + hostHole + "\nusername=evil.example\\\n" + repo + "\n", want: ours},
		{name: "account with control char", input: "protocol=https\nhost=" + hostHole + "\nusername=alice\x01@contoso.example\n" + repo + "\n", want: refused},
		// Percent-encoding.
		{name: "percent-encoded host", input: "protocol=https\nhost=127.0.0.1%3A" + portHole + "\n" + repo + "\n", want: passed},
		{name: "percent-encoded slash in org", input: "protocol=https\nhost=" + hostHole + "\npath=contoso%2F..%2Fother/demo/_git/demo\n\n", want: eitherOf},
		{name: "percent-encoded dots as org", input: "protocol=https\nhost=" + hostHole + "\npath=%2e%2e/demo/_git/demo\n\n", want: eitherOf},
		// Path traversal in the org.
		{name: "org ..", input: "protocol=https\nhost=" + hostHole + "\npath=../demo/_git/demo\n\n", want: refused},
		{name: "org .", input: "protocol=https\nhost=" + hostHole + "\npath=./demo/_git/demo\n\n", want: refused},
		{name: "org with backslash", input: "protocol=https\nhost=" + hostHole + "\npath=contoso\\..\\evil/demo/_git/demo\n\n", want: refused},
		{name: "org _apis", input: "protocol=https\nhost=" + hostHole + "\npath=_apis/tokens/pats\n\n", want: refused},
		{name: "leading slash in path", input: "protocol=https\nhost=" + hostHole + "\npath=/demo/_git/demo\n\n", want: ours},
		{name: "scheme-relative path", input: "protocol=https\nhost=" + hostHole + "\npath=//evil.example/x\n\n", want: eitherOf},
		{name: "org with query", input: "protocol=https\nhost=" + hostHole + "\npath=contoso?x=1/demo\n\n", want: refused},
		{name: "org with space", input: "protocol=https\nhost=" + hostHole + "\npath=con toso/demo/_git/demo\n\n", want: refused},
		{name: "org as user name with a slash", input: "protocol=https\nhost=" + hostHole + "\nusername=../evil\n\n", want: eitherOf},
		// CR, LF, NUL.
		{name: "CR in host", input: "protocol=https\nhost=" + hostHole + "\r\n" + repo + "\n", want: refused},
		{name: "CR smuggling a host", input: "protocol=https\nhost=evil.example\rhost=" + hostHole + "\n" + repo + "\n", want: refused},
		{name: "NUL in path", input: "protocol=https\nhost=" + hostHole + "\npath=contoso\x00evil/demo\n\n", want: refused},
		{name: "NUL in host", input: "protocol=https\nhost=" + hostHole + "\x00.evil.example\n" + repo + "\n", want: refused},
		{name: "CRLF line endings", input: "protocol=https\r\nhost=" + hostHole + "\r\n" + repo + "\r\n", want: refused},
		// Duplicated keys: git's rule is that the last one wins.
		{name: "duplicate host, evil last", input: "protocol=https\nhost=" + hostHole + "\nhost=evil.example\n" + repo + "\n", want: passed},
		{name: "duplicate protocol, http last", input: "protocol=https\nprotocol=http\nhost=" + hostHole + "\n" + repo + "\n", want: refused},
		{name: "duplicate path, traversal last", input: "protocol=https\nhost=" + hostHole + "\n" + repo + "path=../x/_git/y\n\n", want: refused},
		// Protocols.
		{name: "http", input: "protocol=http\nhost=" + hostHole + "\n" + repo + "\n", want: refused},
		{name: "url= alone (git expands it before any helper)", input: "url=https://" + hostHole + "/contoso/demo/_git/demo\n\n", want: refused},
		{name: "ftp", input: "protocol=ftp\nhost=" + hostHole + "\n" + repo + "\n", want: refused},
		{name: "no protocol", input: "host=" + hostHole + "\n" + repo + "\n", want: eitherOf},
		// The stock configuration, for Azure DevOps itself: lookalikes and mixed case.
		{name: "dev.azure.com lookalike suffix", config: "azure", input: "protocol=https\nhost=DEV.AZURE.COM.evil.example\n" + repo + "\n", want: passed},
		{name: "dev.azure.com lookalike prefix", config: "azure", input: "protocol=https\nhost=xDev.Azure.com\n" + repo + "\n", want: passed},
		{name: "dev.azure.com with a hyphen", config: "azure", input: "protocol=https\nhost=evil-dev.azure.com\n" + repo + "\n", want: passed},
		{name: "dev.azure.com other port", config: "azure", input: "protocol=https\nhost=dev.azure.com:8443\n" + repo + "\n", want: passed},
		{name: "visualstudio.com lookalike", config: "azure", input: "protocol=https\nhost=Contoso.VisualStudio.com.evil.example\n\n", want: passed},
		{name: "visualstudio.com nested", config: "azure", input: "protocol=https\nhost=a.contoso.visualstudio.com\n\n", want: passed},
		{name: "cyrillic a in azure", config: "azure", input: "protocol=https\nhost=dev.\u0430zure.com\n" + repo + "\n", want: eitherOf},
		{name: "http to dev.azure.com", config: "azure", input: "protocol=http\nhost=Dev.Azure.Com\n" + repo + "\n", want: refused},
		{name: "emulator host under the stock configuration", config: "azure", input: "protocol=https\nhost=" + hostHole + "\n" + repo + "\n", want: passed},
	}
}

// TestHostileInput feeds crafted requests to the real binary: each is refused with one line or
// passed over, never answered with a credential, never turned into a sign-in, a PAT or a request
// to any host.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	w := newWorld(t, azdotest.Options{AutoApprove: true})
	proxy := newConnectCounter(t)
	port := w.host()[strings.LastIndex(w.host(), ":")+1:]
	cases := hostileCases()
	var tried, refusedN, passedN, oursN int
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.raw
			if in == nil {
				in = []byte(tc.input)
			}
			in = bytes.ReplaceAll(in, []byte(hostHole), []byte(w.host()))
			in = bytes.ReplaceAll(in, []byte(portHole), []byte(port))
			before := w.srv.Counters()
			var args []string
			if tc.config != "azure" {
				args = w.flags()
			}
			// Exactly args: no emulator settings added. A case handled right waits for nothing:
			// --timeout only bounds one that is not, inside the harness's deadline.
			env := []string{"HTTPS_PROXY=" + proxy.url(), "https_proxy=" + proxy.url(), "AZDO_TIMEOUT=1m", "AZDO_LOGIN=never"}
			r := runProcess(slices.Concat(w.env, env), "", string(in), w.bin, append(args, "get")...)
			tried++
			after := w.srv.Counters()
			if r.password() != "" || strings.Contains(r.stdout, "password") {
				t.Fatalf("a credential was printed (%d bytes on stdout, not shown)", len(r.stdout))
			}
			if d := totalRequests(after) - totalRequests(before) - (after.Requests["org"] - before.Requests["org"]); d != 0 || (tc.want != ours && after.Requests["org"] != before.Requests["org"]) {
				t.Errorf("the emulator saw %d request(s): %v", d, after.Requests)
			}
			if after.PATsCreated != before.PATsCreated {
				t.Errorf("a PAT was minted")
			}
			got := ""
			switch {
			case r.code == 0 && r.stdout == "" && r.stderr == "":
				got = passed
				passedN++
			case r.code > 0 && r.stdout == "" && len(r.errorLines()) == 1 && strings.HasPrefix(r.stderr, prog+": "):
				got = refused
				refusedN++
			case tc.want == ours && r.code == exitSignInRequired && strings.TrimSpace(r.stdout) == "quit=1" && len(r.errorLines()) == 1:
				got = ours
				oursN++
			default:
				t.Fatalf("neither refused nor passed over: exit %d, stdout %q, stderr %q", r.code, hidePasswords(r.stdout), r.stderr)
			}
			if tc.want != eitherOf && got != tc.want {
				t.Errorf("want %s, got %s (exit %d, stderr %q)", tc.want, got, r.code, r.stderr)
			}
			t.Logf("%s: %s", got, strings.TrimSpace(r.stderr))
		})
	}
	if seen := proxy.seen(); len(seen) != 0 {
		t.Errorf("requests left for other hosts: %v", seen)
	}
	t.Logf("hostile inputs: %d tried (%d refused, %d passed over, %d the emulator's by git's URL rules and stopped at sign-in), 0 tokens printed, %d PATs minted, %d requests elsewhere",
		tried, refusedN, passedN, oursN, w.srv.Counters().PATsCreated, len(proxy.seen()))
}

func totalRequests(c azdotest.Counters) int {
	n := 0
	for _, v := range c.Requests {
		n += v
	}
	return n
}

// TestHostileChallengeIsNotTrusted sends a legitimate request whose wwwauth[] names an
// authority that is not Microsoft's nor the configured one. The helper must ignore it: no
// request reaches the attacker, and the sign-in uses the organisation's real tenant.
func TestHostileChallengeIsNotTrusted(t *testing.T) {
	t.Parallel()
	// Connections are counted as they are accepted: the helper does not trust this server's
	// certificate, so a request it sent would die in the handshake, before any handler.
	var attacker atomic.Int64
	evil := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gotcha", http.StatusTeapot)
	}))
	evil.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			attacker.Add(1)
		}
	}
	evil.StartTLS()
	t.Cleanup(evil.Close)
	evilHost := strings.TrimPrefix(evil.URL, "https://")
	challenges := map[string]string{
		"attacker host":                 "Bearer authorization_uri=https://" + evilHost + "/" + guidEvil,
		"attacker host quoted":          `Bearer authorization_uri="https://` + evilHost + `/` + guidEvil + `"`,
		"microsoft lookalike":           "Bearer authorization_uri=https://login.microsoftonline.com.evil.example/" + guidEvil,
		"microsoft as userinfo":         "Bearer authorization_uri=https://login.microsoftonline.com@" + evilHost + "/" + guidEvil,
		"http on the configured host":   "Bearer authorization_uri=http://" + hostHole + "/" + guidEvil,
		"traversal on configured host":  "Bearer authorization_uri=https://" + hostHole + "/../" + guidEvil,
		"query on the configured host":  "Bearer authorization_uri=https://" + hostHole + "/" + guidEvil + "?x=" + evilHole,
		"basic scheme with bearer text": "Basic authorization_uri=https://" + hostHole + "/" + guidEvil,
	}
	for name, ch := range challenges {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, azdotest.Options{AutoApprove: true})
			proxy := newConnectCounter(t)
			ch := strings.NewReplacer(hostHole, w.host(), evilHole, evilHost).Replace(ch)
			r := w.azdo(w.request("wwwauth[]="+ch), []string{"HTTPS_PROXY=" + proxy.url()}, "get")
			if r.code != 0 || r.password() == "" {
				t.Fatalf("a legitimate request with a hostile challenge failed: exit %d: %s", r.code, r.stderr)
			}
			if n := attacker.Load(); n != 0 {
				t.Fatalf("the attacker's host got %d connection(s)", n)
			}
			if seen := proxy.seen(); len(seen) != 0 {
				t.Fatalf("requests left for other hosts: %v", seen)
			}
			rec, err := w.storedRecord()
			if err != nil || rec == nil {
				t.Fatalf("no record stored: %v", err)
			}
			if rec.Tenant != strings.ToLower(w.srv.TenantID) {
				t.Fatalf("signed in to tenant %v, want the organisation's %s", rec.Tenant, w.srv.TenantID)
			}
		})
	}
}
