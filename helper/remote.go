package helper

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
)

// Remote identifies an Azure DevOps organisation behind a git request.
type Remote struct {
	Org     string // organisation name, lower-cased
	Account string // user@domain from the URL user name as given (case kept), "" if none
}

const (
	devAzureHost = "dev.azure.com"
	vsSuffix     = ".visualstudio.com"
	maxOrgLen    = 50
	maxAccount   = 256
)

// vsServiceLabels are single labels under visualstudio.com that name Microsoft services rather
// than organisations: not a repository we could hold a PAT for.
var vsServiceLabels = []string{"app", "vssps", "vsrm", "vsaex", "aex", "status", "www", "login", "marketplace",
	"feeds", "pkgs", "almsearch", "extmgmt", "vstmr"}

// ParseRemote returns ok=false (and nil error) when the request is not for us: git should ask the
// next helper. It returns an error when the request IS for an Azure DevOps host but unusable
// (plain http, bad org, no org available).
//
// serviceHost is the host[:port] of a configured Azure DevOps-compatible service (the emulator, a
// proxy), or "" for Azure DevOps itself. When set, it is the only host served: the PATs are made
// there and good nowhere else. It must match the request's host exactly, port included, and its
// org is the first path segment, as for dev.azure.com.
//
// Hosts are compared as exact ASCII strings, never by suffix alone and never after Unicode case
// folding: folding would let a host such as "\u212Aontoso.visualstudio.com" (Kelvin sign) pass
// for "kontoso".
func ParseRemote(req Creds, serviceHost string) (r Remote, ok bool, err error) {
	host := req.Get("host")
	if host == "" || !isASCIIPrintable(host) {
		return Remote{}, false, nil
	}
	// Lower-casing is ASCII-only here: the host is printable ASCII.
	host = strings.ToLower(host)
	service := strings.ToLower(serviceHost)

	var vsOrg string
	switch {
	case service != "":
		if host != service {
			return Remote{}, false, nil
		}
	case host == devAzureHost || host == devAzureHost+":443":
	default:
		vsOrg = visualStudioOrg(host)
		if vsOrg == "" {
			return Remote{}, false, nil
		}
	}

	if protocol := req.Get("protocol"); !strings.EqualFold(protocol, "https") {
		if strings.EqualFold(protocol, "http") {
			return Remote{}, false, fmt.Errorf("refusing plain http to %s: use https", host)
		}
		return Remote{}, false, fmt.Errorf("refusing protocol %q to %s: use https", protocol, host)
	}

	user := req.Get("username")
	if strings.Contains(user, "@") {
		if !validAccount(user) {
			return Remote{}, false, fmt.Errorf("the user name for %s is not a usable account (expected user@domain)", host)
		}
		r.Account = user
	}

	if vsOrg != "" {
		// On the legacy hosts the org is the host itself; the path starts with a project or
		// collection and a plain user name is whatever the user typed: neither names the org.
		r.Org = vsOrg
		return r, true, nil
	}

	// The path wins over the user name: Azure DevOps routes the request by the path, so that is
	// the org the PAT must be for. The user name in a web-UI clone URL is only a copy of it, and a
	// URL edited to point at another org often keeps the old user name.
	if path := req.Get("path"); path != "" {
		if r.Org, err = orgFromPath(path); err != nil {
			return Remote{}, false, fmt.Errorf("cannot tell the organisation for %s: %v", host, err)
		}
		return r, true, nil
	}
	if validOrg(user) { // never a user@domain account: validOrg refuses '@'
		r.Org = strings.ToLower(user)
		return r, true, nil
	}
	return Remote{}, false, fmt.Errorf(
		"cannot tell the organisation for %s: set credential.https://%s.useHttpPath=true (git-credential-azdo configure does it)",
		host, host)
}

// visualStudioOrg returns the org of an {org}.visualstudio.com[:443] host, or "" for another host.
func visualStudioOrg(host string) string {
	label, found := strings.CutSuffix(strings.TrimSuffix(host, ":443"), vsSuffix)
	// Punycode labels decode to Unicode, which an org name never is: such a host is a look-alike.
	if !found || !validOrg(label) || slices.Contains(vsServiceLabels, label) || strings.HasPrefix(label, "xn--") {
		return ""
	}
	return label
}

// orgFromPath takes the first path segment as the org. git has already percent-decoded the
// path it sends (url=https://dev.azure.com/a%2541 arrives as path=a%41), so the segment is
// judged as it is: decoding it again would name another organisation than the URL does, and a
// '%' is never part of an org name.
func orgFromPath(path string) (string, error) {
	seg, _, _ := strings.Cut(strings.TrimLeft(path, "/"), "/")
	if seg == "" {
		return "", fmt.Errorf("the path has no organisation segment")
	}
	if !validOrg(seg) {
		return "", fmt.Errorf("the path's first segment is not a valid organisation name (letters, digits and inner hyphens, at most %d)", maxOrgLen)
	}
	return strings.ToLower(seg), nil
}

// validOrg reports whether s is an Azure DevOps organisation name: ASCII letters, digits and
// hyphens, 1 to 50 long, no hyphen at either end. Everything a path or key could be abused with
// ('/', '.', '%', spaces, non-ASCII) falls outside this set.
func validOrg(s string) bool { return config.IsLabel(s, maxOrgLen) }

// validAccount accepts user@domain with printable ASCII, one '@' and no spaces: enough to pass on
// as a sign-in hint without carrying anything that could confuse a log line or a key.
func validAccount(s string) bool {
	if len(s) > maxAccount || !isASCIIPrintable(s) || strings.ContainsAny(s, " /\\") {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.Contains(domain, "@")
}

func isASCIIPrintable(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e })
}

// CredsFromURL is the request git sends for a remote URL when credential.useHttpPath is set:
// user name and path percent-decoded once, as git does.
func CredsFromURL(raw string) (Creds, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("%q names no protocol and host", raw)
	}
	return Creds{
		"protocol": {u.Scheme},
		"host":     {u.Host},
		"path":     {strings.Trim(u.Path, "/")},
		"username": {u.User.Username()},
	}, nil
}
