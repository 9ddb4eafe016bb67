package helper

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestReadRequest(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  Request
	}{
		{
			name:  "empty input is an empty request",
			input: "",
			want:  Request{},
		},
		{
			name:  "only a blank line",
			input: "\n",
			want:  Request{},
		},
		{
			name: "every key git sends",
			input: "protocol=https\nhost=dev.azure.com\npath=contoso/demo/_git/demo\n" +
				"username=contoso\npassword=s3cret\npassword_expiry_utc=1700000000\n" +
				"oauth_refresh_token=rt\nwwwauth[]=Bearer authorization_uri=https://login.example/t\n" +
				"wwwauth[]=Basic realm=\"x\"\ncapability[]=authtype\ncapability[]=state\n" +
				"authtype=Bearer\ncredential=tok\nephemeral=1\nstate[]=a=1\nstate[]=b=2\n\n",
			want: Request{
				Protocol: "https", Host: "dev.azure.com", Path: "contoso/demo/_git/demo",
				Username: "contoso", Password: "s3cret", PasswordExpiryUTC: "1700000000",
				OAuthRefreshToken: "rt",
				WWWAuth:           []string{"Bearer authorization_uri=https://login.example/t", `Basic realm="x"`},
				Capabilities:      []string{"authtype", "state"},
				AuthType:          "Bearer", Credential: "tok", Ephemeral: true,
				State: []string{"a=1", "b=2"},
			},
		},
		{
			name:  "value may contain '='",
			input: "password=a=b==\n",
			want:  Request{Password: "a=b=="},
		},
		{
			name:  "EOF without blank line",
			input: "protocol=https\nhost=dev.azure.com",
			want:  Request{Protocol: "https", Host: "dev.azure.com"},
		},
		{
			name:  "EOF right after a full line",
			input: "protocol=https\nhost=dev.azure.com\n",
			want:  Request{Protocol: "https", Host: "dev.azure.com"},
		},
		{
			name:  "blank line ends the request and later lines are ignored",
			input: "host=a.example\n\nhost=b.example\nno equals here\n\x00\r",
			want:  Request{Host: "a.example"},
		},
		{
			name:  "unknown keys are ignored",
			input: "frobnicate=1\ncontinue=1\nquit=1\nHost=upper.example\nhost=dev.azure.com\n=empty key\n",
			want:  Request{Host: "dev.azure.com"},
		},
		{
			name:  "duplicate scalar keys: last wins",
			input: "host=a.example\nusername=u1\nhost=b.example\nusername=u2\n",
			want:  Request{Host: "b.example", Username: "u2"},
		},
		{
			name:  "empty scalar value clears it",
			input: "username=u\nusername=\n",
			want:  Request{},
		},
		{
			name:  "empty key[] clears the list",
			input: "wwwauth[]=a\nwwwauth[]=b\nwwwauth[]=\nwwwauth[]=c\ncapability[]=x\ncapability[]=\nstate[]=s\n",
			want:  Request{WWWAuth: []string{"c"}, State: []string{"s"}},
		},
		{
			name:  "list key without [] is a different, unknown key",
			input: "wwwauth=a\ncapability=b\n",
			want:  Request{},
		},
		{
			name:  "ephemeral spelled as git config booleans",
			input: "ephemeral=true\n",
			want:  Request{Ephemeral: true},
		},
		{
			name:  "ephemeral false",
			input: "ephemeral=1\nephemeral=0\n",
			want:  Request{},
		},
		{
			name:  "ephemeral as a non-zero integer",
			input: "ephemeral=2\n",
			want:  Request{Ephemeral: true},
		},
		{
			name:  "non-UTF-8 path is kept as bytes",
			input: "path=caf\xe9/\xff\xfe\n",
			want:  Request{Path: "caf\xe9/\xff\xfe"},
		},
		{
			name:  "non-UTF-8 password is kept",
			input: "password=\xff\x01\x7f\n",
			want:  Request{Password: "\xff\x01\x7f"},
		},
		{
			name:  "whitespace in values is kept verbatim",
			input: "username= spaced \t\n",
			want:  Request{Username: " spaced \t"},
		},
		{
			name:  "url expands to protocol host path",
			input: "url=https://dev.azure.com/contoso/demo/_git/demo\n",
			want: Request{URL: "https://dev.azure.com/contoso/demo/_git/demo",
				Protocol: "https", Host: "dev.azure.com", Path: "contoso/demo/_git/demo"},
		},
		{
			name:  "url with user and port",
			input: "url=https://contoso@dev.azure.com:443/contoso/demo\n",
			want: Request{URL: "https://contoso@dev.azure.com:443/contoso/demo",
				Protocol: "https", Host: "dev.azure.com:443", Path: "contoso/demo", Username: "contoso"},
		},
		{
			name:  "url with user and password, percent-decoded",
			input: "url=https://me%40corp.example:p%3Ass@dev.azure.com/a%20b/\n",
			want: Request{URL: "https://me%40corp.example:p%3Ass@dev.azure.com/a%20b/",
				Protocol: "https", Host: "dev.azure.com", Path: "a b",
				Username: "me@corp.example", Password: "p:ss"},
		},
		{
			name:  "url resets earlier fields",
			input: "protocol=http\nhost=old.example\npath=old\nusername=old\npassword=old\nwwwauth[]=kept\nurl=https://new.example\n",
			want: Request{URL: "https://new.example", Protocol: "https", Host: "new.example",
				WWWAuth: []string{"kept"}},
		},
		{
			name:  "fields after url override it",
			input: "url=https://a@one.example/p\nhost=two.example\n",
			want:  Request{URL: "https://a@one.example/p", Protocol: "https", Host: "two.example", Path: "p", Username: "a"},
		},
		{
			name:  "url splits user info at the first @ like git",
			input: "url=https://a@b@dev.azure.com/x\n",
			want:  Request{URL: "https://a@b@dev.azure.com/x", Protocol: "https", Host: "b@dev.azure.com", Path: "x", Username: "a"},
		},
		{
			name:  "url: @ after the slash is path, not user info",
			input: "url=https://dev.azure.com/a@b\n",
			want:  Request{URL: "https://dev.azure.com/a@b", Protocol: "https", Host: "dev.azure.com", Path: "a@b"},
		},
		{
			name:  "url: query ends the host",
			input: "url=https://evil.example?@dev.azure.com/\n",
			want:  Request{URL: "https://evil.example?@dev.azure.com/", Protocol: "https", Host: "evil.example", Path: "?@dev.azure.com"},
		},
		{
			name:  "url: fragment ends the host",
			input: "url=https://evil.example#@dev.azure.com\n",
			want:  Request{URL: "https://evil.example#@dev.azure.com", Protocol: "https", Host: "evil.example", Path: "#@dev.azure.com"},
		},
		{
			name:  "url: slashes trimmed from both ends of the path",
			input: "url=https://h.example///a/b///\n",
			want:  Request{URL: "https://h.example///a/b///", Protocol: "https", Host: "h.example", Path: "a/b"},
		},
		{
			name:  "url: colon after @ is the port",
			input: "url=https://u@h.example:8443\n",
			want:  Request{URL: "https://u@h.example:8443", Protocol: "https", Host: "h.example:8443", Username: "u"},
		},
		{
			name:  "url: malformed escapes left alone",
			input: "url=https://h.example/%zz%4\n",
			want:  Request{URL: "https://h.example/%zz%4", Protocol: "https", Host: "h.example", Path: "%zz%4"},
		},
		{
			name:  "url: encoded slash in the path decodes",
			input: "url=https://dev.azure.com/..%2fevil/x\n",
			want:  Request{URL: "https://dev.azure.com/..%2fevil/x", Protocol: "https", Host: "dev.azure.com", Path: "../evil/x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadRequest(strings.NewReader(tt.input))
			if err != nil {
				t.Fatalf("ReadRequest: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", *got, tt.want)
			}
		})
	}
}

func TestReadRequestErrors(t *testing.T) {
	long := strings.Repeat("a", MaxLineBytes-len("username="))
	tests := []struct {
		name    string
		input   string
		wantMsg string // substring
		line    int    // expected ProtocolError.Line, -1 = not a ProtocolError
	}{
		{"line without =", "host=a\njunk\n", "line 2 has no '='", 2},
		{"line without = at EOF", "junk", "line 1 has no '='", 1},
		{"NUL in value", "host=a\x00b\n", "line 1 contains a NUL byte", 1},
		{"NUL in key", "ho\x00st=a\n", "contains a NUL byte", 1},
		{"CR at end of line", "protocol=https\r\nhost=a\r\n", "line 1 contains a carriage return", 1},
		{"CR in the middle of line 2", "host=a\npassword=x\ry\n", "line 2 contains a carriage return", 2},
		{"lone CR line", "\r\n", "carriage return", 1},
		{"CR-only terminator", "host=a\rpath=b", "carriage return", 1},
		{"line of 65536 bytes", "username=" + long + "b\n", "line 1 is longer than 65535 bytes", 1},
		{"line of 65536 bytes at EOF", "username=" + long + "b", "line 1 is longer than 65535 bytes", 1},
		{"long line after short ones", "a=b\nc=d\n" + strings.Repeat("x", 70000), "line 3 is longer than 65535 bytes", 3},
		{"huge line without newline", strings.Repeat("=", 3<<20), "line 1 is longer than 65535 bytes", 1},
		{"non-UTF-8 host", "host=ex\xffample\n", "host that is not valid UTF-8", 1},
		{"url without scheme", "url=dev.azure.com/x\n", "url without a scheme", 1},
		{"url with empty scheme", "url=://dev.azure.com\n", "url without a scheme", 1},
		{"url with encoded LF in path", "url=https://h.example/a%0ab\n", "path decodes to a control character", 1},
		{"url with encoded CR in user", "url=https://a%0d@h.example\n", "user name decodes to a control character", 1},
		{"url with encoded NUL in host", "url=https://h%00.example\n", "host decodes to a control character", 1},
		{"url with encoded CR in password", "url=https://u:p%0D@h.example\n", "password decodes", 1},
		{"url with non-UTF-8 host", "url=https://h%ff.example\n", "host is not valid UTF-8", 1},
		{"ephemeral not a boolean", "ephemeral=maybe\n", "ephemeral value that is not a boolean", 1},
		{"binary junk", "\x89PNG\x1a\n\x00\x00\x00\rIHDR", "line 1 has no '='", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadRequest(strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("ReadRequest succeeded with %#v; want error", got)
			}
			if got != nil {
				t.Errorf("ReadRequest returned a request along with error %v", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines", err)
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ProtocolError", err)
			}
			if pe.Line != tt.line {
				t.Errorf("Line = %d, want %d", pe.Line, tt.line)
			}
		})
	}
}

func TestReadRequestErrorsNeverQuoteValues(t *testing.T) {
	for _, input := range []string{
		"password=hunter2\x00\n",
		"password=hunter2\r\n",
		"hunter2\n",
		"url=hunter2\n",
		"url=https://hunter2%0a@h\n",
		"ephemeral=hunter2\n",
	} {
		_, err := ReadRequest(strings.NewReader(input))
		if err == nil {
			t.Fatalf("%q: no error", input)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: error %q leaks the value", input, err)
		}
	}
}

func TestReadRequestLineLimitBoundary(t *testing.T) {
	// Lines around the reader's 4 KiB buffer are put together from pieces.
	for _, n := range []int{4094, 4095, 4096, 4097, 8191, 8192, 8193, MaxLineBytes - 1, MaxLineBytes} {
		val := strings.Repeat("v", n-len("password="))
		for _, term := range []string{"\n", "\n\n", ""} {
			req, err := ReadRequest(strings.NewReader("password=" + val + term))
			if err != nil {
				t.Fatalf("line of %d bytes (terminator %q): %v", n, term, err)
			}
			if req.Password != val {
				t.Fatalf("line of %d bytes: password has %d bytes", n, len(req.Password))
			}
		}
	}
	val := strings.Repeat("v", MaxLineBytes+1-len("password="))
	for _, term := range []string{"\n", "\n\n", ""} {
		_, err := ReadRequest(strings.NewReader("password=" + val + term))
		if err == nil || !strings.Contains(err.Error(), "longer than 65535 bytes") {
			t.Errorf("line of %d bytes (terminator %q): err = %v", MaxLineBytes+1, term, err)
		}
	}
}

func TestReadRequestTotalLimit(t *testing.T) {
	// Many legal lines adding up to just over 1 MiB.
	line := "wwwauth[]=" + strings.Repeat("w", 1000) + "\n"
	var b strings.Builder
	for b.Len() <= MaxInputBytes {
		b.WriteString(line)
	}
	_, err := ReadRequest(strings.NewReader(b.String()))
	if err == nil || !strings.Contains(err.Error(), "credential input is longer than 1048576 bytes") {
		t.Fatalf("err = %v, want the total limit", err)
	}

	// Exactly 1 MiB, ended by EOF, is accepted.
	var ok strings.Builder
	for ok.Len()+len(line) <= MaxInputBytes-20 {
		ok.WriteString(line)
	}
	pad := MaxInputBytes - ok.Len() - len("x=")
	ok.WriteString("x=" + strings.Repeat("p", pad))
	if ok.Len() != MaxInputBytes {
		t.Fatalf("test input is %d bytes", ok.Len())
	}
	req, err := ReadRequest(strings.NewReader(ok.String()))
	if err != nil {
		t.Fatalf("exactly %d bytes: %v", MaxInputBytes, err)
	}
	if len(req.WWWAuth) == 0 {
		t.Fatal("no wwwauth[] parsed")
	}

	// Input past the blank line does not count: the reader stops there.
	_, err = ReadRequest(io.MultiReader(strings.NewReader("host=a\n\n"), endless{}))
	if err != nil {
		t.Fatalf("trailing endless input after blank line: %v", err)
	}
}

// endless is an infinite stream of non-newline bytes.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'z'
	}
	return len(p), nil
}

func TestReadRequestNeverReadsUnboundedly(t *testing.T) {
	var n countingReader
	n.r = endless{}
	_, err := ReadRequest(&n)
	if err == nil {
		t.Fatal("endless input accepted")
	}
	if n.n > MaxInputBytes+1 {
		t.Errorf("read %d bytes from an endless stream", n.n)
	}

	// Endless legal short lines hit the total limit rather than looping.
	n = countingReader{r: &repeatReader{s: "wwwauth[]=x\n"}}
	_, err = ReadRequest(&n)
	if err == nil || !strings.Contains(err.Error(), "longer than 1048576") {
		t.Fatalf("err = %v", err)
	}
	if n.n > MaxInputBytes+1 {
		t.Errorf("read %d bytes", n.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

type repeatReader struct {
	s string
	i int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	for k := range p {
		p[k] = r.s[r.i%len(r.s)]
		r.i++
	}
	return len(p), nil
}

func TestReadRequestSlowReader(t *testing.T) {
	in := "protocol=https\nhost=dev.azure.com\nwwwauth[]=a\nwwwauth[]=b\n\n"
	req, err := ReadRequest(iotest.OneByteReader(strings.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	if req.Host != "dev.azure.com" || len(req.WWWAuth) != 2 {
		t.Fatalf("got %#v", req)
	}
	req, err = ReadRequest(iotest.DataErrReader(strings.NewReader("host=x")))
	if err != nil || req.Host != "x" {
		t.Fatalf("DataErrReader: %v %#v", err, req)
	}
}

func TestReadRequestReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ReadRequest(io.MultiReader(strings.NewReader("host=a\n"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want wrapped boom", err)
	}
	if !strings.Contains(err.Error(), "reading credential input") {
		t.Errorf("err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct{ protocol, host, wantErr string }{
		{"https", "dev.azure.com", ""},
		{"", "", "has no protocol"},
		{"https", "", "has no host"},
		{"", "dev.azure.com", "has no protocol"},
	} {
		err := (&Request{Protocol: tt.protocol, Host: tt.host}).Validate()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Validate(%q, %q) = %v, want %q", tt.protocol, tt.host, err, tt.wantErr)
		}
	}
}

func TestValidateEmptyInput(t *testing.T) {
	req, err := ReadRequest(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	req.Protocol = "https"
	if err := req.Validate(); err == nil || !strings.Contains(err.Error(), "no host") {
		t.Fatalf("Validate = %v", err)
	}
}

func TestWriteResponse(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 999, time.FixedZone("x", 3600))
	tests := []struct {
		name string
		resp Response
		want string
	}{
		{"empty", Response{}, "\n"},
		{"user and password", Response{Username: "u", Password: "p"}, "username=u\npassword=p\n\n"},
		{"password only", Response{Password: "p"}, "password=p\n\n"},
		{"expiry is unix seconds, zone ignored", Response{Username: "u", Password: "p", PasswordExpiry: exp},
			"username=u\npassword=p\npassword_expiry_utc=1893549845\n\n"},
		{"quit", Response{Quit: true}, "quit=1\n\n"},
		{"all, in order", Response{Username: "pat", Password: "x=y", PasswordExpiry: time.Unix(1, 0), Quit: true},
			"username=pat\npassword=x=y\npassword_expiry_utc=1\nquit=1\n\n"},
		{"spaces and unicode kept", Response{Username: " ü ", Password: "\t"}, "username= ü \npassword=\t\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteResponse(&b, tt.resp); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
}

func TestWriteResponseRefuses(t *testing.T) {
	long := strings.Repeat("p", MaxLineBytes)
	tests := []struct {
		name    string
		resp    Response
		wantErr string
	}{
		{"LF in password", Response{Username: "u", Password: "a\nusername=evil"}, "password"},
		{"CR in password", Response{Username: "u", Password: "a\r"}, "password"},
		{"NUL in password", Response{Username: "u", Password: "a\x00"}, "password"},
		{"LF in username, good password", Response{Username: "u\n", Password: "p"}, "username"},
		{"CR in username", Response{Username: "\ru", Password: "p"}, "username"},
		{"NUL in username", Response{Username: "\x00", Password: "p"}, "username"},
		{"line too long", Response{Username: "u", Password: long}, "longer than 65535"},
		{"expiry before 1970", Response{Username: "u", Password: "p", PasswordExpiry: time.Unix(-5, 0)}, "after 1970"},
		{"expiry at epoch", Response{Username: "u", Password: "p", PasswordExpiry: time.Unix(0, 0)}, "after 1970"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := WriteResponse(&b, tt.resp)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %q despite the error", b.String())
			}
			if strings.Contains(err.Error(), "evil") || strings.ContainsAny(err.Error(), "\r\n\x00") {
				t.Errorf("error %q quotes the value", err)
			}
		})
	}
}

func TestWriteResponseLongestLine(t *testing.T) {
	pw := strings.Repeat("p", MaxLineBytes-len("password="))
	var b bytes.Buffer
	if err := WriteResponse(&b, Response{Username: "u", Password: pw}); err != nil {
		t.Fatal(err)
	}
	req, err := ReadRequest(&b)
	if err != nil {
		t.Fatal(err)
	}
	if req.Password != pw {
		t.Fatal("password did not survive the round trip")
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriteResponseWriteError(t *testing.T) {
	boom := errors.New("boom")
	if err := WriteResponse(failWriter{boom}, Response{Username: "u"}); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

// countingWriter proves the response goes out in one Write, so that a
// writer failing halfway cannot leave git a shorter, valid-looking reply
// made of our earlier calls.
type countingWriter struct {
	bytes.Buffer
	calls int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.calls++
	return c.Buffer.Write(p)
}

func TestWriteResponseSingleWrite(t *testing.T) {
	var w countingWriter
	if err := WriteResponse(&w, Response{Username: "u", Password: "p", PasswordExpiry: time.Unix(99, 0), Quit: true}); err != nil {
		t.Fatal(err)
	}
	if w.calls != 1 {
		t.Errorf("%d writes, want 1", w.calls)
	}
}

func TestWriteResponseRoundTrip(t *testing.T) {
	resp := Response{Username: "contoso", Password: "abc=def", PasswordExpiry: time.Unix(1893456000, 0)}
	var b bytes.Buffer
	if err := WriteResponse(&b, resp); err != nil {
		t.Fatal(err)
	}
	req, err := ReadRequest(&b)
	if err != nil {
		t.Fatal(err)
	}
	if req.Username != resp.Username || req.Password != resp.Password || req.PasswordExpiryUTC != "1893456000" {
		t.Fatalf("round trip gave %#v", req)
	}
}

func TestProtocolErrorMessage(t *testing.T) {
	if got := (&ProtocolError{Line: 3, Reason: "is longer than 65535 bytes"}).Error(); got != "credential input line 3 is longer than 65535 bytes" {
		t.Errorf("got %q", got)
	}
	if got := (&ProtocolError{Reason: "has no host"}).Error(); got != "credential input has no host" {
		t.Errorf("got %q", got)
	}
}
