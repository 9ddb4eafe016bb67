// Package helper is git's side of git-credential-azdo: it reads a request in git's credential
// protocol (protocol.go), decides whether the remote is an Azure DevOps organisation we serve
// (remote.go), asks for a credential and answers git (run.go).
package helper

import (
	"cmp"
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
)

// Credentials is what a git operation needs: patmgr.Manager.
type Credentials interface {
	Credential(ctx context.Context, t cache.Target) (cache.Credential, error)
	Reject(ctx context.Context, t cache.Target, password string) error
}

// Options wires one run of the helper.
type Options struct {
	// Credentials is called only for requests that are ours, so a constructor that costs
	// something can be deferred behind it.
	Credentials func() (Credentials, error)
	// ServiceHost is host[:port] of a configured service (the emulator, a proxy), served instead of
	// dev.azure.com; "" for none.
	ServiceHost string
	Stdin       io.Reader
	Stdout      io.Writer
}

// IsOperation reports whether op is one of git's credential operations, which Run performs.
func IsOperation(op string) bool { return op == "get" || op == "store" || op == "erase" }

// Run performs one git credential operation: get, store or erase. Requests for other hosts get
// no answer, so git asks its next helper. A returned error is meant for one line on stderr.
func Run(ctx context.Context, op string, opts Options) error {
	req, err := readCreds(opts.Stdin)
	if err != nil {
		return err
	}
	// Without these it names no remote at all: not a request git would send.
	for _, key := range []string{"protocol", "host"} {
		if req.Get(key) == "" {
			return errors.New("credential input has no " + key)
		}
	}
	remote, ours, err := ParseRemote(req, opts.ServiceHost)
	if err != nil || !ours {
		// Another host's request, even one with a host this helper could not use (git sends
		// "example.com:" for https://example.com:/), is the next helper's to answer.
		return err
	}
	target := cache.Target{Org: remote.Org, Account: remote.Account, Challenges: req["wwwauth[]"]}

	switch op {
	case "get":
		creds, err := opts.Credentials()
		var cred cache.Credential
		if err == nil {
			cred, err = creds.Credential(ctx, target)
		}
		if err != nil {
			// quit=1 stops git from going on to a terminal username prompt that cannot work
			// for Azure DevOps; the reason is on stderr.
			return errors.Join(err, writeCreds(opts.Stdout, Creds{"quit": {"1"}}))
		}
		return writeCreds(opts.Stdout, answer(req, remote, cred))
	case "erase":
		secret := refused(req)
		if secret == "" {
			return nil
		}
		creds, err := opts.Credentials()
		if err != nil {
			return err
		}
		return creds.Reject(ctx, target, secret)
	}
	// store: git is telling us the credential we gave it worked. We keep only PATs we made, so
	// there is nothing to write, and a password from elsewhere is not ours to keep.
	return nil
}

// refused is the secret git's erase says the server turned down: the password, or the bearer
// credential answer gave a git with the authtype capability, which git sends back in place of a
// password. "" when erase names neither.
func refused(req Creds) string {
	if p := req.Get("password"); p != "" {
		return p
	}
	// Authentication schemes are case-insensitive (RFC 9110, section 11.1).
	if strings.EqualFold(req.Get("authtype"), "Bearer") {
		return req.Get("credential")
	}
	return ""
}

// answer is get's reply. An Entra access token goes to a git that announced the authtype
// capability (2.46+) as a bearer credential; to an older git, and always for a PAT, it is a
// password, which git sends as Basic authentication.
func answer(req Creds, remote Remote, cred cache.Credential) Creds {
	// Azure DevOps accepts any user name with a PAT. Echo git's, or else give the org name as the
	// web page's clone URLs do: never the account, which git would send back on erase and which
	// would then select a different cached record.
	resp := Creds{"username": {cmp.Or(req.Get("username"), remote.Org)}, "password": {cred.Password}}
	if cred.Bearer && slices.Contains(req["capability[]"], "authtype") {
		// An access token lives about an hour: no other helper should keep it (ephemeral).
		resp = Creds{"capability[]": {"authtype"}, "authtype": {"Bearer"}, "credential": {cred.Password}, "ephemeral": {"1"}}
	}
	if !cred.Expires.IsZero() {
		resp["password_expiry_utc"] = []string{strconv.FormatInt(cred.Expires.Unix(), 10)}
	}
	return resp
}
