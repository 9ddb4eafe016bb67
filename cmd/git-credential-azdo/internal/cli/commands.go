package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/git-credential-azdo/git-credential-azdo/helper"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/redact"
)

// target turns an ORG argument (a name, or a remote URL) into a patmgr.Target, validated by the
// same rules git's requests go through.
func (inv *invocation) target(arg string) (patmgr.Target, error) {
	isURL := strings.Contains(arg, "://")
	req := helper.Creds{"protocol": {"https"}, "host": {inv.cfg.ServiceHost()}, "path": {arg}}
	if isURL {
		r, err := helper.CredsFromURL(arg)
		if err != nil {
			return patmgr.Target{}, usagef("%q is not a remote URL: %v", arg, err)
		}
		req = r
	}
	remote, ok, err := helper.ParseRemote(req, inv.cfg.CustomServiceHost())
	switch {
	case err != nil && !isURL:
		return patmgr.Target{}, usagef("%q is not an organisation name: use its name (letters, digits and inner hyphens) or a remote URL", arg)
	case err != nil:
		return patmgr.Target{}, usageError{err.Error()}
	case !ok:
		return patmgr.Target{}, usagef("%q is not an Azure DevOps organisation this helper serves", arg)
	}
	return patmgr.Target{Org: remote.Org, Account: remote.Account}, nil
}

func (inv *invocation) targets(args []string) ([]string, error) {
	orgs := make([]string, 0, len(args))
	for _, a := range args {
		t, err := inv.target(a)
		if err != nil {
			return nil, err
		}
		orgs = append(orgs, t.Org)
	}
	return orgs, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func loginCmd(fs *flag.FlagSet) runFunc {
	device := fs.Bool("device", false, "sign in with a device code (for headless machines)")
	browser := fs.Bool("browser", false, "sign in with the system browser")
	return func(ctx context.Context, inv *invocation, args []string) error {
		if *device && *browser {
			return usagef("login: choose one of --device and --browser")
		}
		if len(args) > 1 {
			return usagef("login takes at most one organisation")
		}
		method := ""
		switch {
		case *device:
			method = config.LoginDevice
		case *browser:
			method = config.LoginBrowser
		}
		var t patmgr.Target
		if len(args) == 1 {
			var err error
			if t, err = inv.target(args[0]); err != nil {
				return err
			}
		}
		m, err := inv.manager()
		if err != nil {
			return err
		}
		st, err := m.Login(ctx, t, method)
		if err != nil {
			return err
		}
		if t.Org == "" {
			fmt.Fprintf(inv.stdout, "Signed in as %s.\n", st.Account)
			return nil
		}
		fmt.Fprintf(inv.stdout, "Signed in as %s; %s has a PAT (%s) that expires %s, kept in %s.\n",
			st.Account, st.Org, st.Scope, st.ExpiresIn, st.Store)
		return nil
	}
}

func logoutCmd(fs *flag.FlagSet) runFunc {
	all := fs.Bool("all", false, "every organisation of every service this tool has records for, and forget the sign-ins too")
	return func(ctx context.Context, inv *invocation, args []string) error {
		if *all == (len(args) > 0) {
			return usagef("logout: name organisations or give --all")
		}
		orgs, err := inv.targets(args)
		if err != nil {
			return err
		}
		if !*all {
			m, err := inv.manager()
			if err != nil {
				return err
			}
			results, err := m.Logout(ctx, orgs, false)
			kept := printLogout(inv.stdout, m.Store().Describe(), results, "")
			return errors.Join(err, notRevoked(kept))
		}
		svcs, err := inv.services(ctx)
		if err != nil {
			return err
		}
		var errs []error
		var kept []string
		for _, s := range svcs {
			name := ""
			if len(svcs) > 1 {
				name = s.host
			}
			signedIn := s.m.SignedIn(ctx)
			results, err := s.m.Logout(ctx, nil, true)
			notKept := printLogout(inv.stdout, s.m.Store().Describe(), results, name)
			kept = append(kept, notKept...)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("%s: %w; then run '%s' again", s.host, err, patmgr.CommandLine(&s.cfg, "logout", "--all")))
			case len(results) == 0 && !signedIn:
				if len(svcs) == 1 { // with several, the others say what was done
					fmt.Fprintf(inv.stdout, "Nothing to sign out of at %s: no PAT and no sign-in are cached.\n", s.host)
				}
			case len(notKept) > 0:
				fmt.Fprintf(inv.stdout, "The cached sign-in for %s is kept, as not every PAT is revoked (above): run logout --all again later.\n", s.host)
			case signedIn:
				fmt.Fprintf(inv.stdout, "Signed out of %s: the cached sign-in is deleted.\n", s.host)
			default:
				fmt.Fprintf(inv.stdout, "Signed out of %s: no sign-in was cached.\n", s.host)
			}
		}
		return errors.Join(append(errs, notRevoked(kept))...)
	}
}

// printLogout prints what logout did for each organisation, and returns those whose PAT is still
// valid. service names the service when there are several.
func printLogout(w io.Writer, store string, results []patmgr.LogoutResult, service string) []string {
	var kept []string
	for _, r := range results {
		org := r.Org
		if service != "" {
			org += " (" + service + ")"
		}
		switch {
		case r.Revoked:
			fmt.Fprintf(w, "%s: PAT revoked and deleted from %s\n", org, store)
		case r.Note != "":
			fmt.Fprintf(w, "%s: kept in %s; PAT %s\n", org, store, r.Note)
			kept = append(kept, org)
		default:
			fmt.Fprintf(w, "%s: deleted from %s\n", org, store)
		}
	}
	return kept
}

func notRevoked(orgs []string) error {
	if len(orgs) == 0 {
		return nil
	}
	return fmt.Errorf("the PAT of %s is not revoked (the reason is above): it works until it expires, unless you revoke it on the Azure DevOps web page", strings.Join(orgs, ", "))
}

// service is one Azure DevOps service (by host) that the index has records for, and the
// manager that reaches it.
type service struct {
	host string
	cfg  config.Config
	m    *patmgr.Manager
}

// services returns this command line's service first, then every other one the index has
// records for. Another service is reached with the settings of git's helper line for it over
// this command line's: its authority, client and CA are what sign in to it, and they decide
// which sign-in is cached for it.
func (inv *invocation) services(ctx context.Context) ([]service, error) {
	m, err := inv.manager()
	if err != nil {
		return nil, err
	}
	all, err := m.Status(ctx)
	if err != nil {
		return nil, err
	}
	svcs := []service{{host: inv.cfg.ServiceHost(), cfg: inv.cfg, m: m}}
	for _, st := range all {
		if slices.ContainsFunc(svcs, func(s service) bool { return s.host == st.Host }) {
			continue
		}
		cfg, err := inv.configFor(ctx, st.Host)
		if err != nil {
			return nil, err
		}
		sm, err := patmgr.New(cfg, patmgr.Options{Stderr: inv.stderr})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", st.Host, err)
		}
		svcs = append(svcs, service{host: st.Host, cfg: cfg, m: sm})
	}
	return svcs, nil
}

// configFor is this command line's settings for another service: its own service settings
// reset, then those of git's helper line for host.
func (inv *invocation) configFor(ctx context.Context, host string) (config.Config, error) {
	d := config.Defaults()
	cfg := inv.cfg
	cfg.ServiceURL, cfg.Authority, cfg.Tenant, cfg.ClientID, cfg.Resource, cfg.CAFile, cfg.Scope =
		"", d.Authority, "", d.ClientID, d.Resource, "", d.Scope
	if host != d.ServiceHost() {
		cfg.ServiceURL = "https://" + host
	}
	if _, err := readHelperLine(ctx, &cfg, cfg.ServiceURL); err != nil {
		return cfg, err
	}
	err := cfg.Validate() // before cfg is returned: it makes the paths absolute
	return cfg, err
}

func statusCmd(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print JSON")
	wide := fs.Bool("wide", false, "print every column, however wide (the default fits 80 columns)")
	return func(ctx context.Context, inv *invocation, args []string) error {
		if len(args) > 0 {
			return usagef("status takes no arguments")
		}
		svcs, err := inv.services(ctx)
		if err != nil {
			return err
		}
		all := []patmgr.Status{}
		for _, s := range svcs {
			st, err := s.m.Status(ctx)
			if err != nil {
				return err
			}
			all = append(all, slices.DeleteFunc(st, func(x patmgr.Status) bool { return x.Host != s.host })...)
		}
		if *asJSON {
			return writeJSON(inv.stdout, all)
		}
		if len(all) == 0 {
			fmt.Fprintf(inv.stdout, "No organisation yet: the first git fetch or '%s' makes a PAT.\n", patmgr.CommandLine(&inv.cfg, "login", "ORG"))
			return nil
		}
		if *wide {
			rows := [][]string{{"ORG", "SERVICE", "ACCOUNT", "SCOPE", "STATE", "EXPIRES", "CACHED IN", "SILENT RENEWAL"}}
			for _, s := range all {
				expires := s.ExpiresIn
				if s.Kind == "entra" {
					expires = "hourly (org forbids PATs)"
				}
				rows = append(rows, []string{s.Org, s.Host, s.Account, cmp.Or(s.Scope, "-"), s.State, cmp.Or(expires, "-"), s.Store, map[bool]string{true: "yes", false: "no"}[s.SilentRenewal]})
			}
			printTable(inv.stdout, rows, 0)
			return nil
		}
		rows := [][]string{{"ORG", "SERVICE", "ACCOUNT", "STATE", "EXPIRES", "RENEWAL"}}
		for _, s := range all {
			expires, renewal := s.ExpiresIn, "sign-in"
			if s.Kind == "entra" {
				expires = "hourly"
			}
			if s.SilentRenewal {
				renewal = "silent"
			}
			rows = append(rows, []string{s.Org, s.Host, s.Account, s.State, cmp.Or(expires, "-"), renewal})
		}
		if !slices.ContainsFunc(all, func(s patmgr.Status) bool { return s.Host != all[0].Host }) {
			for i := range rows { // one service: its column would say the same on every row
				rows[i] = slices.Delete(rows[i], 1, 2)
			}
		}
		printTable(inv.stdout, rows, 80)
		if !slices.ContainsFunc(all, func(s patmgr.Status) bool { return s.Store != all[0].Store }) {
			fmt.Fprintf(inv.stdout, "Cached in %s.\n", all[0].Store)
		}
		if i := slices.IndexFunc(all, func(s patmgr.Status) bool { return s.Kind == "entra" }); i >= 0 {
			fmt.Fprintf(inv.stdout, "hourly: %s forbids PATs; git gets your Entra ID token, renewed silently.\n", all[i].Org)
		}
		return nil
	}
}

// printTable prints rows in columns two spaces apart, each cell made one inert line first. With
// width > 0 it fits the table in width columns by shortening the widest cells, marked with "…",
// first.
func printTable(w io.Writer, rows [][]string, width int) {
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			r[i] = redact.Line(c) // a cell may quote the service: data, never terminal control
			widths[i] = max(widths[i], utf8.RuneCountInString(r[i]))
		}
	}
	total := 2 * (len(widths) - 1)
	for _, n := range widths {
		total += n
	}
	const narrowest = 8
	for width > 0 && total > width {
		widest := slices.Index(widths, slices.Max(widths)) // the first of the widest
		cut := min(widths[widest]-narrowest, total-width)
		if cut <= 0 {
			break
		}
		widths[widest] -= cut
		total -= cut
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			if utf8.RuneCountInString(c) > widths[i] {
				c = string([]rune(c)[:widths[i]-1]) + "…"
			}
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

func listCmd(fs *flag.FlagSet) runFunc {
	all := fs.Bool("all", false, "include revoked and expired PATs")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, inv *invocation, args []string) error {
		if len(args) != 1 {
			return usagef("list needs one organisation: %s list ORG", prog)
		}
		t, err := inv.target(args[0])
		if err != nil {
			return err
		}
		m, err := inv.manager()
		if err != nil {
			return err
		}
		filter := "active"
		if *all {
			filter = "all"
		}
		pats, err := m.List(ctx, t, filter)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(inv.stdout, pats)
		}
		if len(pats) == 0 {
			msg := "%s has no active PAT of yours.\n"
			if *all {
				msg = "%s has no PAT of yours, active, revoked or expired.\n"
			}
			fmt.Fprintf(inv.stdout, msg, t.Org)
			return nil
		}
		rows := [][]string{{"AUTHORIZATION ID", "NAME", "SCOPE", "EXPIRES", "MADE HERE"}}
		for _, p := range pats {
			mark := ""
			switch {
			case p.Cached:
				mark = "yes, in use"
			case p.MadeByThisTool:
				mark = "yes"
			}
			rows = append(rows, []string{p.AuthorizationID, p.DisplayName, p.Scope, p.ValidTo.Local().Format(time.DateOnly), mark})
		}
		printTable(inv.stdout, rows, 0)
		return nil
	}
}

func renewCmd(fs *flag.FlagSet) runFunc {
	all := fs.Bool("all", false, "every organisation (the default when none is named)")
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, inv *invocation, args []string) error {
		if *all && len(args) > 0 {
			return usagef("renew: name organisations or give --all, not both")
		}
		orgs, err := inv.targets(args)
		if err != nil {
			return err
		}
		// renew runs from cron and timers: it must never wait for a person.
		inv.cfg.Login = config.LoginNever
		m, err := inv.manager()
		if err != nil {
			return err
		}
		results, err := m.Renew(ctx, orgs)
		if *asJSON {
			if results == nil {
				results = []patmgr.RenewResult{}
			}
			if werr := writeJSON(inv.stdout, results); werr != nil {
				return werr
			}
		} else {
			for _, r := range results {
				if r.Err == nil {
					name := r.Org
					if r.Account != "" {
						name += " (" + r.Account + ")"
					}
					fmt.Fprintf(inv.stdout, "%s: %s, valid until %s\n", name, r.Action, r.ValidTo.Local().Format(time.DateTime))
				}
			}
		}
		if errors.Is(err, patmgr.ErrSignInRequired) {
			if strings.Contains(err.Error(), prog+" login") {
				return fmt.Errorf("%w (renew never prompts)", err)
			}
			// Name the fix: the sign-in renew may not do itself.
			var fixes []string
			for _, r := range results {
				if errors.Is(r.Err, patmgr.ErrSignInRequired) {
					fixes = append(fixes, patmgr.CommandLine(&inv.cfg, "login", r.Org))
				}
			}
			return fmt.Errorf("%w: run '%s', then renew again (renew never prompts)", err, strings.Join(fixes, "' and '"))
		}
		return err
	}
}

func revokeCmd(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, inv *invocation, args []string) error {
		if len(args) != 2 {
			return usagef("revoke needs an organisation and an authorization ID: %s revoke ORG AUTHORIZATION-ID (see '%s')", prog, patmgr.CommandLine(&inv.cfg, "list", "ORG"))
		}
		t, err := inv.target(args[0])
		if err != nil {
			return err
		}
		if !config.IsGUID(args[1]) {
			return usagef("%q is not an authorization ID (a GUID): see '%s'", args[1], patmgr.CommandLine(&inv.cfg, "list", t.Org))
		}
		m, err := inv.manager()
		if err != nil {
			return err
		}
		if err := m.Revoke(ctx, t, args[1]); err != nil {
			return err
		}
		fmt.Fprintf(inv.stdout, "%s: revoked %s\n", t.Org, args[1])
		return nil
	}
}

func orgsCmd(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print JSON")
	account := fs.String("account", "", "the signed-in `account` to use when there are several")
	return func(ctx context.Context, inv *invocation, args []string) error {
		if len(args) > 0 {
			return usagef("orgs takes no arguments")
		}
		m, err := inv.manager()
		if err != nil {
			return err
		}
		orgs, err := m.Orgs(ctx, *account)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(inv.stdout, orgs)
		}
		for _, o := range orgs {
			fmt.Fprintf(inv.stdout, "%s\t%s\n", redact.Line(o.Name), redact.Line(o.URL)) // the service's words
		}
		return nil
	}
}

func doctorCmd(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, inv *invocation, args []string) error {
		orgs, err := inv.targets(args)
		if err != nil {
			return err
		}
		m, err := inv.manager()
		if err != nil {
			return err
		}
		checks := m.Doctor(ctx, orgs)
		failed := 0
		for _, c := range checks {
			if !c.OK {
				failed++
			}
		}
		if *asJSON {
			if err := writeJSON(inv.stdout, checks); err != nil {
				return err
			}
		} else {
			for _, c := range checks {
				mark, fix := "ok  ", "tip" // a passed check's fix is only advice
				if !c.OK {
					mark, fix = "FAIL", "fix"
				}
				fmt.Fprintf(inv.stdout, "%s %s: %s\n", mark, c.Name, c.Detail)
				if c.Fix != "" {
					fmt.Fprintf(inv.stdout, "     %s: %s\n", fix, c.Fix)
				}
			}
		}
		if failed > 0 {
			return fmt.Errorf("doctor found %d problem(s); the fixes are above", failed)
		}
		return nil
	}
}
