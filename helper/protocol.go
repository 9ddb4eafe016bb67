package helper

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

const (
	// maxLineBytes is git's documented limit for one key=value line, not counting its line feed.
	maxLineBytes = 65535
	// maxInputBytes bounds a whole request, so that a runaway or hostile writer on stdin cannot
	// make the helper buffer without end. Git sends a few hundred bytes.
	maxInputBytes = 1 << 20
)

// Creds is one message of git's credential protocol: each key with its values. A key ending in
// "[]" (wwwauth[], capability[], state[]) collects every value sent; any other key holds the
// last one. Keys this helper does not know are kept and never fail a request: newer gits add
// them.
type Creds map[string][]string

// Get is the value of a single-valued key, "" when it was not sent.
func (c Creds) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

// readCreds reads one message: key=value lines up to a blank line or EOF. It never reads more
// than maxInputBytes (+1 to notice the overflow). Its errors never quote a value, which may be
// a secret.
func readCreds(r io.Reader) (Creds, error) {
	br := bufio.NewReader(io.LimitReader(r, maxInputBytes+1))
	c := Creds{}
	total := 0
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("reading credential input: %w", err)
		}
		total += len(line)
		line = bytes.TrimSuffix(line, []byte("\n"))
		switch {
		case len(line) > maxLineBytes:
			return nil, fmt.Errorf("credential input line %d is longer than %d bytes", n, maxLineBytes)
		case total > maxInputBytes:
			return nil, fmt.Errorf("credential input is longer than %d bytes", maxInputBytes)
		case len(line) == 0:
			return c, nil // the blank line or EOF that ends the message
		}
		if err := c.add(line); err != nil {
			return nil, fmt.Errorf("credential input line %d %w", n, err)
		}
		if err == io.EOF {
			return c, nil
		}
	}
}

// add applies one line. Its errors are predicates for readCreds to put after the line number.
func (c Creds) add(line []byte) error {
	if bytes.IndexByte(line, 0) >= 0 {
		return errors.New("contains a NUL byte")
	}
	// Git never sends CR (2.47.2+ refuses to): a CR can only be a smuggling attempt such as
	// CVE-2024-50338, or CRLF from a writer that is not git, and both are better refused.
	if bytes.IndexByte(line, '\r') >= 0 {
		return errors.New("contains a carriage return")
	}
	k, v, ok := bytes.Cut(line, []byte("="))
	if !ok {
		return errors.New("has no '=': expected key=value")
	}
	key, value := string(k), string(v)
	switch {
	case !strings.HasSuffix(key, "[]"):
		c[key] = []string{value}
	case value == "":
		delete(c, key) // an empty key[]= clears the list
	default:
		c[key] = append(c[key], value)
	}
	return nil
}

// writeCreds writes c ended by a blank line: lists first, as git wants capability[] before the
// values that depend on it, then username, as git and other helpers put it before the password,
// then the other keys in sorted order; empty values are left out. It writes all of c in one
// Write or nothing, because a half-written message would be read by git as a different, valid
// one.
func writeCreds(w io.Writer, c Creds) error {
	rank := func(key string) int {
		switch {
		case strings.HasSuffix(key, "[]"):
			return 0
		case key == "username":
			return 1
		}
		return 2
	}
	keys := slices.SortedFunc(maps.Keys(c), func(a, b string) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b))
	})
	var b bytes.Buffer
	for _, key := range keys {
		for _, value := range c[key] {
			if value == "" {
				continue
			}
			if strings.ContainsAny(value, "\x00\r\n") {
				// The key but never the value: it may be a secret.
				return fmt.Errorf("refusing to write credential %s: it contains a control character (CR, LF or NUL)", key)
			}
			if len(key)+1+len(value) > maxLineBytes {
				return fmt.Errorf("refusing to write credential %s: the line would be longer than %d bytes", key, maxLineBytes)
			}
			fmt.Fprintf(&b, "%s=%s\n", key, value)
		}
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}
