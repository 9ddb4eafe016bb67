package cli

import (
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"

	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/helper"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr"
)

type runFunc = func(ctx context.Context, inv *invocation, args []string) error

// target turns an ORG argument (a name, or a remote URL) into a patmgr.Target, validated by the
// same rules git's requests go through.
func (inv *invocation) target(arg string) (patmgr.Target, error) {
	req := helper.Creds{"protocol": {"https"}, "host": {inv.cfg.ServiceHost()}, "path": {arg}}
	if strings.Contains(arg, "://") {
		r, err := helper.CredsFromURL(arg)
		if err != nil {
			return patmgr.Target{}, usagef("%q is not a remote URL: %v", arg, err)
		}
		req = r
	}
	remote, ok, err := helper.ParseRemote(req, helper.RemoteOptions{ServiceHost: inv.cfg.CustomServiceHost()})
	if err != nil && !strings.Contains(arg, "://") {
		return patmgr.Target{}, usagef("%q is not an organisation name: use its name (letters, digits and inner hyphens) or a remote URL", arg)
	}
	if err != nil {
		return patmgr.Target{}, usageError{err.Error()}
	}
	if !ok {
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
	all := fs.Bool("all", false, "every organisation, and forget the sign-in too")
	return func(ctx context.Context, inv *invocation, args []string) error {
		if *all == (len(args) > 0) {
			return usagef("logout: name organisations or give --all")
		}
		orgs, err := inv.targets(args)
		if err != nil {
			return err
		}
		m, err := inv.manager()
		if err != nil {
			return err
		}
		results, err := m.Logout(ctx, orgs, *all)
		for _, r := range results {
			switch {
			case r.Revoked:
				fmt.Fprintf(inv.stdout, "%s: PAT revoked and deleted from %s\n", r.Org, m.Store().Describe())
			case r.Note != "":
				fmt.Fprintf(inv.stdout, "%s: deleted from %s; PAT %s\n", r.Org, m.Store().Describe(), r.Note)
			default:
				fmt.Fprintf(inv.stdout, "%s: deleted from %s\n", r.Org, m.Store().Describe())
			}
		}
		if *all && err == nil {
			fmt.Fprintf(inv.stdout, "Signed out: the cached sign-in is deleted.\n")
		}
		return err
	}
}

func statusCmd(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(ctx context.Context, inv *invocation, args []string) error {
		if len(args) > 0 {
			return usagef("status takes no arguments")
		}
		m, err := inv.manager()
		if err != nil {
			return err
		}
		all, err := m.Status(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			if all == nil {
				all = []patmgr.Status{}
			}
			return writeJSON(inv.stdout, all)
		}
		if len(all) == 0 {
			fmt.Fprintf(inv.stdout, "No organisation yet: the first git fetch or '%s login ORG' makes a PAT.\n", prog)
			return nil
		}
		tw := tabwriter.NewWriter(inv.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ORG\tACCOUNT\tSCOPE\tSTATE\tEXPIRES\tCACHED IN\tSILENT RENEWAL")
		for _, s := range all {
			expires := s.ExpiresIn
			if s.Kind == "entra" {
				expires = "hourly (org forbids PATs)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Org, s.Account, dash(s.Scope), s.State, dash(expires), s.Store, yesNo(s.SilentRenewal))
		}
		return tw.Flush()
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
		tw := tabwriter.NewWriter(inv.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "AUTHORIZATION ID\tNAME\tSCOPE\tEXPIRES\tMADE HERE")
		for _, p := range pats {
			mark := ""
			switch {
			case p.Cached:
				mark = "yes, in use"
			case p.MadeByThisTool:
				mark = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.AuthorizationID, p.DisplayName, p.Scope, p.ValidTo.Local().Format(time.DateOnly), mark)
		}
		return tw.Flush()
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
			var need []string
			for _, r := range results {
				if errors.Is(r.Err, patmgr.ErrSignInRequired) {
					need = append(need, r.Org)
				}
			}
			fix := fmt.Sprintf("run '%s login %s'", prog, strings.Join(need, "' and '"+prog+" login "))
			return fmt.Errorf("%w: %s, then renew again (renew never prompts)", err, fix)
		}
		return err
	}
}

func revokeCmd(fs *flag.FlagSet) runFunc {
	return func(ctx context.Context, inv *invocation, args []string) error {
		if len(args) != 2 {
			return usagef("revoke needs an organisation and an authorization ID: %s revoke ORG AUTHORIZATION-ID (see '%s list ORG')", prog, prog)
		}
		t, err := inv.target(args[0])
		if err != nil {
			return err
		}
		if !config.IsGUID(args[1]) {
			return usagef("%q is not an authorization ID (a GUID): see '%s list %s'", args[1], prog, t.Org)
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
			fmt.Fprintf(inv.stdout, "%s\t%s\n", o.Name, o.URL)
		}
		return nil
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
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
				mark := "ok  "
				if !c.OK {
					mark = "FAIL"
				}
				fmt.Fprintf(inv.stdout, "%s %s: %s\n", mark, c.Name, c.Detail)
				switch {
				case c.Fix != "" && c.OK:
					fmt.Fprintf(inv.stdout, "     tip: %s\n", c.Fix)
				case c.Fix != "":
					fmt.Fprintf(inv.stdout, "     fix: %s\n", c.Fix)
				}
			}
		}
		if failed > 0 {
			return fmt.Errorf("doctor found %d problem(s); the fixes are above", failed)
		}
		return nil
	}
}
