package helper

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadCreds(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  Creds
	}{
		{"empty input is an empty message", "", Creds{}},
		{"only a blank line", "\n", Creds{}},
		{
			name: "every key git sends",
			input: "protocol=https\nhost=dev.azure.com\npath=contoso/demo/_git/demo\n" +
				"username=contoso\npassword=s3cret\npassword_expiry_utc=1700000000\n" +
				"oauth_refresh_token=rt\nwwwauth[]=Bearer authorization_uri=https://login.example/t\n" +
				"wwwauth[]=Basic realm=\"x\"\ncapability[]=authtype\ncapability[]=state\n" +
				"authtype=Bearer\ncredential=tok\nephemeral=1\nstate[]=a=1\nstate[]=b=2\n\n",
			want: Creds{
				"protocol": {"https"}, "host": {"dev.azure.com"}, "path": {"contoso/demo/_git/demo"},
				"username": {"contoso"}, "password": {"s3cret"}, "password_expiry_utc": {"1700000000"},
				"oauth_refresh_token": {"rt"},
				"wwwauth[]":           {"Bearer authorization_uri=https://login.example/t", `Basic realm="x"`},
				"capability[]":        {"authtype", "state"},
				"authtype":            {"Bearer"}, "credential": {"tok"}, "ephemeral": {"1"},
				"state[]": {"a=1", "b=2"},
			},
		},
		{"value may contain '='", "password=a=b==\n", Creds{"password": {"a=b=="}}},
		{"EOF without blank line", "protocol=https\nhost=dev.azure.com", Creds{"protocol": {"https"}, "host": {"dev.azure.com"}}},
		{"EOF right after a full line", "protocol=https\nhost=dev.azure.com\n", Creds{"protocol": {"https"}, "host": {"dev.azure.com"}}},
		{"blank line ends the message and later lines are not read", "host=a.example\n\nhost=b.example\nno equals here\n\x00\r",
			Creds{"host": {"a.example"}}},
		{"unknown and future keys are kept and fail nothing", "frobnicate=1\ncontinue=1\nHost=upper.example\nhost=dev.azure.com\n=empty key\nephemeral=maybe\nfuture[]=x\n",
			Creds{"frobnicate": {"1"}, "continue": {"1"}, "Host": {"upper.example"}, "host": {"dev.azure.com"}, "": {"empty key"},
				"ephemeral": {"maybe"}, "future[]": {"x"}}},
		{"a repeated single key: last wins", "host=a.example\nusername=u1\nhost=b.example\nusername=u2\n",
			Creds{"host": {"b.example"}, "username": {"u2"}}},
		{"an empty single value is sent as empty", "username=u\nusername=\n", Creds{"username": {""}}},
		{"an empty key[]= clears the list", "wwwauth[]=a\nwwwauth[]=b\nwwwauth[]=\nwwwauth[]=c\ncapability[]=x\ncapability[]=\nstate[]=s\n",
			Creds{"wwwauth[]": {"c"}, "state[]": {"s"}}},
		{"a list key without [] is another, single key", "wwwauth=a\nwwwauth=b\n", Creds{"wwwauth": {"b"}}},
		{"non-UTF-8 path is kept as bytes", "path=caf\xe9/\xff\xfe\n", Creds{"path": {"caf\xe9/\xff\xfe"}}},
		{"non-UTF-8 password is kept", "password=\xff\x01\x7f\n", Creds{"password": {"\xff\x01\x7f"}}},
		{"whitespace in values is kept verbatim", "username= spaced \t\n", Creds{"username": {" spaced \t"}}},
		{"url= is not expanded: git never sends it to a helper", "url=https://dev.azure.com/contoso\n", Creds{"url": {"https://dev.azure.com/contoso"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readCreds(strings.NewReader(tt.input))
			if err != nil {
				t.Fatalf("readCreds: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestCredsGet(t *testing.T) {
	c := Creds{"host": {"a", "b"}, "path": {}}
	if c.Get("host") != "b" || c.Get("path") != "" || c.Get("none") != "" {
		t.Fatalf("Get: %q %q %q", c.Get("host"), c.Get("path"), c.Get("none"))
	}
}

func TestReadCredsErrors(t *testing.T) {
	long := strings.Repeat("a", maxLineBytes-len("username="))
	tests := []struct {
		name    string
		input   string
		wantMsg string
	}{
		{"line without =", "host=a\njunk\n", "credential input line 2 has no '='"},
		{"line without = at EOF", "junk", "credential input line 1 has no '='"},
		{"NUL in value", "host=a\x00b\n", "credential input line 1 contains a NUL byte"},
		{"NUL in key", "ho\x00st=a\n", "line 1 contains a NUL byte"},
		{"CR at end of line", "protocol=https\r\nhost=a\r\n", "credential input line 1 contains a carriage return"},
		{"CR in the middle of line 2", "host=a\npassword=x\ry\n", "line 2 contains a carriage return"},
		{"lone CR line", "\r\n", "line 1 contains a carriage return"},
		{"CR-only terminator", "host=a\rpath=b", "line 1 contains a carriage return"},
		{"line of 65536 bytes", "username=" + long + "b\n", "credential input line 1 is longer than 65535 bytes"},
		{"line of 65536 bytes at EOF", "username=" + long + "b", "line 1 is longer than 65535 bytes"},
		{"long line after short ones", "a=b\nc=d\n" + strings.Repeat("x", 70000), "line 3 is longer than 65535 bytes"},
		{"huge line without newline", strings.Repeat("=", 3<<20), "line 1 is longer than 65535 bytes"},
		{"binary junk", "\x89PNG\x1a\n\x00\x00\x00\rIHDR", "line 1 has no '='"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readCreds(strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("readCreds succeeded with %#v; want error", got)
			}
			if got != nil {
				t.Errorf("readCreds returned a message along with error %v", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans lines", err)
			}
		})
	}
}

func TestReadCredsErrorsNeverQuoteValues(t *testing.T) {
	for _, input := range []string{
		"password=hunter2\x00\n",
		"password=hunter2\r\n",
		"hunter2\n",
		"password=hunter2" + strings.Repeat("2", maxLineBytes) + "\n",
	} {
		_, err := readCreds(strings.NewReader(input))
		if err == nil {
			t.Fatalf("%q: no error", input)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: error %q leaks the value", input, err)
		}
	}
}

func TestReadCredsLineLimitBoundary(t *testing.T) {
	// Lines around the reader's 4 KiB buffer are put together from pieces.
	for _, n := range []int{4094, 4095, 4096, 4097, 8191, 8192, 8193, maxLineBytes - 1, maxLineBytes} {
		val := strings.Repeat("v", n-len("password="))
		for _, term := range []string{"\n", "\n\n", ""} {
			req, err := readCreds(strings.NewReader("password=" + val + term))
			if err != nil {
				t.Fatalf("line of %d bytes (terminator %q): %v", n, term, err)
			}
			if req.Get("password") != val {
				t.Fatalf("line of %d bytes: password has %d bytes", n, len(req.Get("password")))
			}
		}
	}
	val := strings.Repeat("v", maxLineBytes+1-len("password="))
	for _, term := range []string{"\n", "\n\n", ""} {
		_, err := readCreds(strings.NewReader("password=" + val + term))
		if err == nil || !strings.Contains(err.Error(), "longer than 65535 bytes") {
			t.Errorf("line of %d bytes (terminator %q): err = %v", maxLineBytes+1, term, err)
		}
	}
}

func TestReadCredsTotalLimit(t *testing.T) {
	// Many legal lines adding up to just over 1 MiB.
	line := "wwwauth[]=" + strings.Repeat("w", 1000) + "\n"
	var b strings.Builder
	for b.Len() <= maxInputBytes {
		b.WriteString(line)
	}
	_, err := readCreds(strings.NewReader(b.String()))
	if err == nil || !strings.Contains(err.Error(), "credential input is longer than 1048576 bytes") {
		t.Fatalf("err = %v, want the total limit", err)
	}

	// Exactly 1 MiB, ended by EOF, is accepted.
	var ok strings.Builder
	for ok.Len()+len(line) <= maxInputBytes-20 {
		ok.WriteString(line)
	}
	pad := maxInputBytes - ok.Len() - len("x=")
	ok.WriteString("x=" + strings.Repeat("p", pad))
	if ok.Len() != maxInputBytes {
		t.Fatalf("test input is %d bytes", ok.Len())
	}
	req, err := readCreds(strings.NewReader(ok.String()))
	if err != nil {
		t.Fatalf("exactly %d bytes: %v", maxInputBytes, err)
	}
	if len(req["wwwauth[]"]) == 0 {
		t.Fatal("no wwwauth[] parsed")
	}

	// Input past the blank line does not count: the reader stops there.
	_, err = readCreds(io.MultiReader(strings.NewReader("host=a\n\n"), endless{}))
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

func TestReadCredsNeverReadsUnboundedly(t *testing.T) {
	var n countingReader
	n.r = endless{}
	_, err := readCreds(&n)
	if err == nil {
		t.Fatal("endless input accepted")
	}
	if n.n > maxInputBytes+1 {
		t.Errorf("read %d bytes from an endless stream", n.n)
	}

	// Endless legal short lines hit the total limit rather than looping.
	n = countingReader{r: &repeatReader{s: "wwwauth[]=x\n"}}
	_, err = readCreds(&n)
	if err == nil || !strings.Contains(err.Error(), "longer than 1048576") {
		t.Fatalf("err = %v", err)
	}
	if n.n > maxInputBytes+1 {
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

func TestReadCredsSlowReader(t *testing.T) {
	in := "protocol=https\nhost=dev.azure.com\nwwwauth[]=a\nwwwauth[]=b\n\n"
	req, err := readCreds(iotest.OneByteReader(strings.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	if req.Get("host") != "dev.azure.com" || len(req["wwwauth[]"]) != 2 {
		t.Fatalf("got %#v", req)
	}
	req, err = readCreds(iotest.DataErrReader(strings.NewReader("host=x")))
	if err != nil || req.Get("host") != "x" {
		t.Fatalf("DataErrReader: %v %#v", err, req)
	}
}

func TestReadCredsReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := readCreds(io.MultiReader(strings.NewReader("host=a\n"), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want wrapped boom", err)
	}
	if !strings.Contains(err.Error(), "reading credential input") {
		t.Errorf("err = %v", err)
	}
}

func TestWriteCreds(t *testing.T) {
	tests := []struct {
		name string
		c    Creds
		want string
	}{
		{"empty", Creds{}, "\n"},
		{"username, then the others sorted", Creds{"username": {"u"}, "quit": {"1"}, "password": {"p"}}, "username=u\npassword=p\nquit=1\n\n"},
		{"empty values are left out", Creds{"username": {""}, "password": {"p"}, "path": nil}, "password=p\n\n"},
		{"quit", Creds{"quit": {"1"}}, "quit=1\n\n"},
		{"lists first, each value on its line", Creds{"authtype": {"Bearer"}, "capability[]": {"authtype", "state"}, "state[]": {"a=1"}},
			"capability[]=authtype\ncapability[]=state\nstate[]=a=1\nauthtype=Bearer\n\n"},
		{"'=' in a value, spaces and unicode kept", Creds{"username": {" ü "}, "password": {"x=y\t"}}, "username= ü \npassword=x=y\t\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeCreds(&b, tt.c); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
}

func TestWriteCredsRefuses(t *testing.T) {
	long := strings.Repeat("p", maxLineBytes)
	tests := []struct {
		name    string
		c       Creds
		wantErr string
	}{
		{"LF in password", Creds{"username": {"u"}, "password": {"a\nusername=evil"}}, "credential password: it contains a control character"},
		{"CR in password", Creds{"username": {"u"}, "password": {"a\r"}}, "password"},
		{"NUL in password", Creds{"username": {"u"}, "password": {"a\x00"}}, "password"},
		{"LF in username, good password", Creds{"username": {"u\n"}, "password": {"p"}}, "username"},
		{"CR in username", Creds{"username": {"\ru"}, "password": {"p"}}, "username"},
		{"NUL in a credential", Creds{"credential": {"\x00"}}, "credential credential"},
		{"LF in a list value", Creds{"capability[]": {"authtype", "x\ny"}}, "capability[]"},
		{"line too long", Creds{"username": {"u"}, "password": {long}}, "longer than 65535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := writeCreds(&b, tt.c)
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

func TestWriteCredsLongestLine(t *testing.T) {
	pw := strings.Repeat("p", maxLineBytes-len("password="))
	var b bytes.Buffer
	if err := writeCreds(&b, Creds{"username": {"u"}, "password": {pw}}); err != nil {
		t.Fatal(err)
	}
	c, err := readCreds(&b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Get("password") != pw {
		t.Fatal("password did not survive the round trip")
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriteCredsWriteError(t *testing.T) {
	boom := errors.New("boom")
	if err := writeCreds(failWriter{boom}, Creds{"username": {"u"}}); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

// countingWriter proves the message goes out in one Write, so that a writer failing halfway
// cannot leave git a shorter, valid-looking reply.
type countingWriter struct {
	bytes.Buffer
	calls int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.calls++
	return c.Buffer.Write(p)
}

func TestWriteCredsSingleWrite(t *testing.T) {
	var w countingWriter
	if err := writeCreds(&w, Creds{"username": {"u"}, "password": {"p"}, "password_expiry_utc": {"99"}, "quit": {"1"}}); err != nil {
		t.Fatal(err)
	}
	if w.calls != 1 {
		t.Errorf("%d writes, want 1", w.calls)
	}
}

func TestWriteCredsRoundTrip(t *testing.T) {
	sent := Creds{"capability[]": {"authtype"}, "authtype": {"Bearer"}, "credential": {"abc=def"}, "password_expiry_utc": {"1893456000"}}
	var b bytes.Buffer
	if err := writeCreds(&b, sent); err != nil {
		t.Fatal(err)
	}
	got, err := readCreds(&b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sent) {
		t.Fatalf("round trip gave %#v", got)
	}
}
