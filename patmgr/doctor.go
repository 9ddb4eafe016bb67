package patmgr

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdo"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// Check is one finding of Doctor: what was checked, whether it is fine, and the fix if not.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Doctor checks what a get depends on, in the order a get meets it. orgs may be empty.
func (m *Manager) Doctor(ctx context.Context, orgs []string) []Check {
	checks := []Check{checkGit(ctx), m.checkHelperConfig(ctx), m.checkStore(ctx)}
	if err := m.init(); err != nil {
		return append(checks, Check{Name: "settings", Detail: err.Error(), Fix: "correct the setting named above"})
	}
	checks = append(checks, m.checkAuthority(ctx))
	for _, org := range orgs {
		checks = append(checks, m.checkOrg(ctx, org))
	}
	accounts := m.cachedAccounts(ctx)
	// No cached sign-in is not a fault (a fresh machine has none, and the first git fetch signs
	// in); the check stays OK and carries the way to sign in ahead of time.
	c := Check{Name: "sign-in", OK: true}
	if len(accounts) > 0 {
		c.Detail = "cached for " + strings.Join(slices.Sorted(maps.Keys(accounts)), ", ") + ": PATs renew without a prompt"
	} else {
		c.Detail = "no cached sign-in yet: the next git fetch or clone will ask you to sign in"
		c.Fix = "to sign in ahead of time, run '" + signInCommand(&m.cfg, "ORG") + "' (add --device on a machine without a browser)"
	}
	return append(checks, c)
}

func checkGit(ctx context.Context) Check {
	c := Check{Name: "git", Fix: "install git 2.30 or later"}
	out, err := exec.CommandContext(ctx, "git", "--version").Output()
	if err != nil {
		c.Detail = "git not found"
		return c
	}
	c.Detail = strings.TrimSpace(string(out))
	var major, minor int
	if _, err := fmt.Sscanf(c.Detail, "git version %d.%d", &major, &minor); err != nil {
		c.Detail = "cannot read the version from " + strconv.Quote(c.Detail)
		return c
	}
	if major < 2 || major == 2 && minor < 30 {
		return c
	}
	c.OK, c.Fix = true, ""
	if major == 2 && minor < 41 {
		c.Detail += " (works; 2.41+ also passes the tenant to the helper and honours PAT expiry)"
	}
	return c
}

func (m *Manager) checkHelperConfig(ctx context.Context) Check {
	url := m.cfg.OrgURL("org") + "/"
	c := Check{Name: "git config", Fix: "run '" + CommandLine(&m.cfg, "configure") + "'"}
	out, err := exec.CommandContext(ctx, "git", "config", "--get-urlmatch", "credential.helper", url).Output()
	if _, ours := config.HelperArgs(string(out)); err != nil || !ours {
		c.Detail = "git does not use this helper for " + url
		return c
	}
	path, _ := exec.CommandContext(ctx, "git", "config", "--type=bool", "--get-urlmatch", "credential.useHttpPath", url).Output()
	if strings.TrimSpace(string(path)) != "true" {
		c.Detail = "credential.useHttpPath is not true for " + url + ": the helper cannot tell the organisation from the path"
		return c
	}
	return Check{Name: c.Name, OK: true, Detail: "helper and useHttpPath set for " + url}
}

func (m *Manager) checkStore(ctx context.Context) Check {
	_, err := m.store.Get(ctx, "doctor-probe")
	if err == nil || errors.Is(err, store.ErrNotFound) {
		return Check{Name: "secret store", OK: true, Detail: m.store.Describe() + " answers"}
	}
	// The store's messages send the user here; here they would send the user round in a circle.
	return Check{Name: "secret store",
		Detail: m.store.Describe() + ": " + strings.Replace(err.Error(), "; 'git-credential-azdo doctor' shows details", "", 1),
		Fix: "start or unlock the keyring (gnome-keyring, KeePassXC; README: Servers and containers), or opt in to the file store with '" +
			CommandLine(&m.cfg, "configure", "--store=file") + "'"}
}

func (m *Manager) checkAuthority(ctx context.Context) Check {
	authority := m.cfg.AuthorityURL(cmp.Or(m.cfg.Tenant, config.TenantOrganizations))
	u := authority + "/v2.0/.well-known/openid-configuration"
	ctx, cancel := context.WithTimeout(ctx, azdo.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = m.az.Send(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("HTTP %d", resp.StatusCode)
			}
		}
	}
	if err != nil {
		return Check{Name: "authority", Detail: fmt.Sprintf("%s: %v", u, err),
			Fix: "check the network, a proxy (HTTPS_PROXY) or --authority; for a TLS-inspecting proxy add its CA with --ca-file"}
	}
	return Check{Name: "authority", OK: true, Detail: authority + " answers" + m.az.Via(u)}
}

func (m *Manager) checkOrg(ctx context.Context, org string) Check {
	tenant, err := m.az.Tenant(ctx, org)
	if err != nil {
		return Check{Name: "organisation " + org, Detail: err.Error(), Fix: "check the organisation name in the remote URL"}
	}
	u := m.cfg.OrgURL(org)
	return Check{Name: "organisation " + org, OK: true, Detail: u + " belongs to tenant " + tenant + m.az.Via(u)}
}
