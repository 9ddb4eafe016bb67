package helper

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// MaxLineBytes is git's documented limit for one key=value line,
	// not counting the line feed that ends it.
	MaxLineBytes = 65535
	// MaxInputBytes bounds a whole request. Git sends a few hundred bytes
	// in practice; the cap exists so that a runaway or hostile writer on
	// stdin cannot make the helper buffer without end.
	MaxInputBytes = 1 << 20
)

// Request is what git sends on stdin for get/store/erase.
type Request struct {
	Protocol, Host, Path, Username, Password string
	PasswordExpiryUTC                        string // raw, as git sent it
	OAuthRefreshToken                        string
	// URL is the last url= value as sent. Its parts are also expanded
	// into Protocol, Host, Path, Username and Password, as git does.
	URL          string
	WWWAuth      []string // wwwauth[]
	Capabilities []string // capability[]
	AuthType     string
	Credential   string
	Ephemeral    bool
	State        []string // state[]
}

// ProtocolError reports input or output that breaks the credential
// protocol. Its message never quotes a value, because values may be
// secrets and the message is meant for the user's terminal.
type ProtocolError struct {
	Line   int    // 1-based input line; 0 when not tied to one line
	Reason string // a predicate, e.g. "is longer than 65535 bytes"
}

func (e *ProtocolError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("credential input line %d %s", e.Line, e.Reason)
	}
	return "credential input " + e.Reason
}

// ReadRequest parses one credential request. It stops at the first blank
// line or at EOF, whichever comes first, and never reads more than
// MaxInputBytes (+1 to notice the overflow) from r.
func ReadRequest(r io.Reader) (*Request, error) {
	// git's lines are tens of bytes: a buffer the size of the longest legal line would cost
	// every get a 64 KiB allocation. readLine puts longer lines together.
	br := bufio.NewReaderSize(io.LimitReader(r, MaxInputBytes+1), 4096)
	req := &Request{}
	total := 0
	for lineNo := 1; ; lineNo++ {
		line, err := readLine(br)
		total += len(line)
		if total > MaxInputBytes {
			return nil, &ProtocolError{Reason: fmt.Sprintf("is longer than %d bytes", MaxInputBytes)}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			return nil, &ProtocolError{Line: lineNo, Reason: fmt.Sprintf("is longer than %d bytes", MaxLineBytes)}
		case err != nil && err != io.EOF:
			return nil, fmt.Errorf("reading credential input: %w", err)
		}
		atEOF := err == io.EOF
		line = bytes.TrimSuffix(line, []byte("\n"))
		if len(line) > MaxLineBytes {
			return nil, &ProtocolError{Line: lineNo, Reason: fmt.Sprintf("is longer than %d bytes", MaxLineBytes)}
		}
		if len(line) == 0 {
			// A blank line ends the request; so does EOF right after a
			// complete line. Either way, later input is not ours to read.
			return req, nil
		}
		if err := req.parseLine(line); err != nil {
			return nil, &ProtocolError{Line: lineNo, Reason: err.Error()}
		}
		if atEOF {
			return req, nil
		}
	}
}

// readLine returns the next line with its line feed, or what is left before EOF. Like
// ReadSlice with a buffer of MaxLineBytes+1, it reports bufio.ErrBufferFull for a line longer
// than that, and reads no further into it.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return line, err
	}
	long := bytes.Clone(line)
	for errors.Is(err, bufio.ErrBufferFull) {
		if len(long) > MaxLineBytes {
			return long, bufio.ErrBufferFull
		}
		line, err = br.ReadSlice('\n')
		long = append(long, line...)
	}
	return long, err
}

// parseLine applies one non-empty line to req. Its errors are reasons to
// be wrapped in a ProtocolError by the caller.
func (req *Request) parseLine(line []byte) error {
	if bytes.IndexByte(line, 0) >= 0 {
		return errors.New("contains a NUL byte")
	}
	// Git never sends CR (2.47.2+ refuses to); a CR here can only be a
	// smuggling attempt such as CVE-2024-50338, or CRLF from a non-git
	// writer, and both are better refused than guessed at.
	if bytes.IndexByte(line, '\r') >= 0 {
		return errors.New("contains a carriage return")
	}
	k, v, ok := bytes.Cut(line, []byte("="))
	if !ok {
		return errors.New("has no '=': expected key=value")
	}
	key, value := string(k), string(v)
	switch key {
	case "protocol":
		req.Protocol = value
	case "host":
		if !utf8.ValidString(value) {
			return errors.New("has a host that is not valid UTF-8")
		}
		req.Host = value
	case "path":
		// Paths come from URLs that git percent-decoded, so any byte
		// sequence is possible and legitimate here.
		req.Path = value
	case "username":
		req.Username = value
	case "password":
		req.Password = value
	case "password_expiry_utc":
		req.PasswordExpiryUTC = value
	case "oauth_refresh_token":
		req.OAuthRefreshToken = value
	case "url":
		if err := req.applyURL(value); err != nil {
			return err
		}
	case "wwwauth[]":
		req.WWWAuth = appendOrClear(req.WWWAuth, value)
	case "capability[]":
		req.Capabilities = appendOrClear(req.Capabilities, value)
	case "state[]":
		req.State = appendOrClear(req.State, value)
	case "authtype":
		req.AuthType = value
	case "credential":
		req.Credential = value
	case "ephemeral":
		b, ok := parseGitBool(value)
		if !ok {
			return errors.New("has an ephemeral value that is not a boolean")
		}
		req.Ephemeral = b
	default:
		// Newer gits add keys; ignoring them is what the protocol asks.
	}
	return nil
}

func appendOrClear(list []string, value string) []string {
	if value == "" {
		return nil
	}
	return append(list, value)
}

// parseGitBool accepts what git's own config parser accepts for a
// boolean, so a future git that writes "true" instead of "1" still works.
func parseGitBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true, true
	case "", "0", "false", "no", "off":
		return false, true
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n != 0, true
	}
	return false, false
}

// applyURL expands the url= shorthand the way git does: the five URL
// fields are reset, then filled from proto://[user[:pass]@]host[/path].
func (req *Request) applyURL(raw string) error {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return errors.New("has a url without a scheme")
	}
	req.URL = raw
	req.Protocol, req.Host, req.Path, req.Username, req.Password = scheme, "", "", "", ""

	// A query or fragment marker ends the authority just like a slash.
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	// Git splits user information at the first '@' and the first ':',
	// so "a@b@host" gives host "b@host"; doing the same keeps us reading
	// the request git meant, and such a host then fails Validate.
	if at := strings.IndexByte(authority, '@'); at >= 0 {
		userinfo := authority[:at]
		authority = authority[at+1:]
		user, pass, hasPass := strings.Cut(userinfo, ":")
		req.Username = percentDecodeLenient(user)
		if hasPass {
			req.Password = percentDecodeLenient(pass)
		}
	}
	req.Host = percentDecodeLenient(authority)
	tail = strings.TrimLeft(tail, "/")
	tail = percentDecodeLenient(tail)
	if len(tail) > 1 {
		tail = strings.TrimRight(tail, "/")
		if tail == "" {
			tail = "/"
		}
	}
	req.Path = tail

	for _, f := range []struct{ name, v string }{
		{"user name", req.Username}, {"password", req.Password},
		{"host", req.Host}, {"path", req.Path},
	} {
		// Percent-decoding can produce bytes that a plain line cannot
		// carry; git refuses such URLs, and so do we.
		if strings.ContainsAny(f.v, "\x00\r\n") {
			return fmt.Errorf("has a url whose %s decodes to a control character", f.name)
		}
	}
	if !utf8.ValidString(req.Host) {
		return errors.New("has a url whose host is not valid UTF-8")
	}
	return nil
}

// percentDecodeLenient decodes %XX escapes and leaves malformed ones as
// they are, matching git's url_decode.
func percentDecodeLenient(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if hi, lo := unhex(s[i+1]), unhex(s[i+2]); hi >= 0 && lo >= 0 {
				b.WriteByte(byte(hi<<4 | lo))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// Validate checks what every operation needs: a protocol and a host. Which hosts are served is
// ParseRemote's to say, by exact match; any other is the next helper's.
func (req *Request) Validate() error {
	if req.Protocol == "" {
		return &ProtocolError{Reason: "has no protocol"}
	}
	if req.Host == "" {
		return &ProtocolError{Reason: "has no host"}
	}
	return nil
}

// Response is what the helper prints for get.
type Response struct {
	Username, Password string
	PasswordExpiry     time.Time // zero = omit; else password_expiry_utc=<unix seconds>
	Quit               bool      // quit=1
}

// WriteResponse writes resp in the credential protocol, ending with a
// blank line. It either writes the whole response or nothing: the output
// is built in memory and checked first, because a half-written response
// would be read by git as a different, valid one.
func WriteResponse(w io.Writer, resp Response) error {
	var b bytes.Buffer
	add := func(key, value string) error {
		if value == "" {
			return nil
		}
		if strings.ContainsAny(value, "\x00\r\n") {
			// Naming the field but never the value keeps secrets out of
			// logs and terminals.
			return fmt.Errorf("refusing to write credential %s: it contains a control character (CR, LF or NUL)", key)
		}
		if len(key)+1+len(value) > MaxLineBytes {
			return fmt.Errorf("refusing to write credential %s: the line would be longer than %d bytes", key, MaxLineBytes)
		}
		b.WriteString(key)
		b.WriteByte('=')
		b.WriteString(value)
		b.WriteByte('\n')
		return nil
	}
	if err := add("username", resp.Username); err != nil {
		return err
	}
	if err := add("password", resp.Password); err != nil {
		return err
	}
	if !resp.PasswordExpiry.IsZero() {
		sec := resp.PasswordExpiry.Unix()
		if sec <= 0 {
			return errors.New("refusing to write credential password_expiry_utc: it is not after 1970")
		}
		_ = add("password_expiry_utc", strconv.FormatInt(sec, 10))
	}
	if resp.Quit {
		_ = add("quit", "1")
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}
