package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/orglock"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// gitEntry is one value configure added to a git config file.
type gitEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Before is how many equal values the key had before (the user's own empty helper, say):
	// those are never configure's to remove.
	Before int `json:"before,omitempty"`
}

// configured is what configure added to one config file, so unconfigure removes exactly that:
// never a helper or a useHttpPath the user had set themselves.
type configured struct {
	Entries     []gitEntry `json:"entries"`
	NewSections []string   `json:"newSections"` // sections that did not exist before, removed when empty
}

func configureCmd(add bool) func(fs *flag.FlagSet) runFunc {
	return func(fs *flag.FlagSet) runFunc {
		global := fs.Bool("global", false, "the user's git config (the default)")
		system := fs.Bool("system", false, "the system git config")
		local := fs.Bool("local", false, "this repository's git config")
		file := fs.String("file", "", "this git config `file`")
		return func(ctx context.Context, inv *invocation, args []string) error {
			if len(args) > 0 {
				return usagef("%s takes no arguments", strings.TrimPrefix(fs.Name(), prog+" "))
			}
			scope, id, err := configScope(*global, *system, *local, *file)
			if err != nil {
				return err
			}
			if add && *file != "" { // scope is --file ABS
				if fi, err := os.Stat(filepath.Dir(scope[1])); err != nil || !fi.IsDir() {
					return usagef("--file %s: the directory %s does not exist: create it first", *file, filepath.Dir(scope[1]))
				}
			}
			g := gitConfig{ctx: ctx, scope: scope}
			// The record of what configure added is kept where unconfigure finds it whatever
			// --state-dir either is given: that one is the helper's setting, for its line.
			record := config.Config{StateDir: inv.getenv(config.EnvName("state-dir"))}
			if err := record.ResolveStateDir(); err != nil {
				return fmt.Errorf("finding the state directory for configure's record: %w", err)
			}
			// One configure or unconfigure at a time: each reads the record, then changes the
			// config and the record in many steps.
			l, err := orglock.Acquire(ctx, record.StateDir, "configure")
			if err != nil {
				return err
			}
			defer l.Unlock()
			state := filepath.Join(record.StateDir, "configured.json")
			all, err := loadConfigured(state)
			if err != nil {
				return err
			}
			// A rewrite that has put a key's values back has taken out what the record holds for
			// that key: what is left there is the user's, though it may equal ours. The record
			// says so before the rewrite's journal goes, so that a run cut short in between
			// finishes the rewrite again instead of forgetting it was done.
			g.rewritten = func(key string) error {
				c, ok := all[id]
				if !ok {
					return nil
				}
				all[id] = c.without(key)
				return saveConfigured(state, all)
			}
			if err := g.finishRewrites(); err != nil {
				return err
			}
			previous, had := all[id]
			if add {
				// Configuring again replaces what an earlier configure added for the same URLs,
				// and leaves what it added for others (dev.azure.com, when this is for a
				// --service-url).
				var others configured
				previous, others = previous.split(inv.configuredURLs())
				if err := g.remove(previous); err != nil {
					return err
				}
				planned, err := g.plan(inv.helperCommand(), inv.configuredURLs())
				if err != nil {
					return err
				}
				// Recorded before it is added, so that a run cut short leaves nothing of ours
				// unrecorded: unconfigure takes what never made it in for gone.
				if all[id] = others.merge(planned); len(all[id].Entries) == 0 {
					delete(all, id) // nothing of ours is left there for unconfigure to remove
				}
				if err := saveConfigured(state, all); err != nil {
					return err
				}
				for _, e := range planned.Entries {
					if _, err := g.run("--add", e.Key, e.Value); err != nil {
						return err
					}
				}
				fmt.Fprintf(inv.stdout, "git now asks %s for Azure DevOps credentials (%s).\n", prog, strings.Join(inv.configuredURLs(), ", "))
				return nil
			}
			if err := g.remove(previous); err != nil {
				return err
			}
			delete(all, id)
			if err := saveConfigured(state, all); err != nil {
				return err
			}
			if !had {
				fmt.Fprintf(inv.stdout, "Nothing to remove: %s did not configure this git config.\n", prog)
				return nil
			}
			fmt.Fprintf(inv.stdout, "Removed %s from git's config.\n", prog)
			return nil
		}
	}
}

func configScope(global, system, local bool, file string) (scope []string, id string, err error) {
	n := 0
	for _, b := range []bool{global, system, local, file != ""} {
		if b {
			n++
		}
	}
	if n > 1 {
		return nil, "", usagef("choose one of --global, --system, --local and --file")
	}
	switch {
	case system:
		return []string{"--system"}, "system", nil
	case local:
		out, err := exec.Command("git", "rev-parse", "--absolute-git-dir").Output()
		if err != nil {
			return nil, "", fmt.Errorf("--local needs to run inside a git repository")
		}
		return []string{"--local"}, "local:" + strings.TrimSpace(string(out)), nil
	case file != "":
		abs, err := filepath.Abs(file)
		if err != nil {
			return nil, "", err
		}
		return []string{"--file", abs}, "file:" + abs, nil
	}
	home := os.Getenv("GIT_CONFIG_GLOBAL")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return []string{"--global"}, "global:" + home, nil
}

// configuredURLs are the URL scopes the helper is set for.
func (inv *invocation) configuredURLs() []string {
	if inv.cfg.ServiceURL != "" {
		return []string{strings.TrimRight(inv.cfg.ServiceURL, "/")}
	}
	return []string{"https://dev.azure.com", "https://*.visualstudio.com"}
}

// helperCommand is the helper line git runs: the front's absolute path, plus the settings given
// to configure on its command line. A short name ("azdo") works too, but git then starts a
// second git process to find the helper, about 1.3 ms on each call. When the front beside this
// program is the one on PATH, the path is PATH's, so that a package manager's link keeps working
// across upgrades.
func (inv *invocation) helperCommand() string {
	cmd := "azdo" // git finds it on PATH, if this program cannot tell where it is
	if self, err := os.Executable(); err == nil {
		front := filepath.Join(filepath.Dir(self), exeName(prog))
		if _, err := os.Stat(front); err != nil {
			front = self // serves git too, only slower
		}
		if onPath, err := exec.LookPath(prog); err == nil && sameFile(front, onPath) {
			if abs, err := filepath.Abs(onPath); err == nil {
				front = abs
			}
		}
		path := filepath.ToSlash(front)
		cmd = shellQuote(path)
		if cmd != path {
			// git runs a helper line as a path only if it starts with one; a quoted path must
			// be a shell command ("!").
			cmd = "!" + cmd
		}
	}
	settings := inv.explicit
	if inv.cfg.ServiceURL != "" && !slices.ContainsFunc(settings, func(s string) bool { return strings.HasPrefix(s, "--service-url=") }) {
		// From the environment: the section is for this service, so the line must name it too.
		settings = append(slices.Clip(settings), "--service-url="+inv.cfg.ServiceURL)
	}
	for _, s := range settings {
		cmd += " " + shellQuote(s)
	}
	return cmd
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// shellQuote quotes s for the shell git runs helper lines through, when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

type gitConfig struct {
	ctx   context.Context
	scope []string
	// rewritten, if not nil, is told of each key a rewrite has given its values back (see
	// finishRewrite).
	rewritten func(key string) error
}

// errNoValue is git config's exit status 1 for a get: the key (or pattern) has no value.
var errNoValue = errors.New("no value")

func (g gitConfig) run(args ...string) (string, error) {
	cmd := exec.CommandContext(g.ctx, "git", append(append([]string{"config"}, g.scope...), args...)...)
	out, err := cmd.Output()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if exitErr.ExitCode() == 1 && len(exitErr.Stderr) == 0 {
			return "", errNoValue
		}
		return string(out), fmt.Errorf("git config %s: %s", strings.Join(args, " "), strings.TrimSpace(string(exitErr.Stderr)))
	}
	return string(out), err
}

// values lists key's values in the order git reads them. A broken config file is an error,
// not a key without values: nothing may be removed from a file git cannot read.
func (g gitConfig) values(key string) ([]string, error) {
	out, err := g.run("-z", "--get-all", key) // -z: a value may hold a newline
	if errors.Is(err, errNoValue) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(out, "\x00"), "\x00"), nil
}

// sectionExists reports whether any key of the credential section for url is set.
func (g gitConfig) sectionExists(url string) (bool, error) {
	out, err := g.run("--get-regexp", "^credential\\."+regexpQuote(url)+"\\.")
	if errors.Is(err, errNoValue) {
		return false, nil
	}
	return strings.TrimSpace(out) != "", err
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// plan lists what configure adds for urls, each value with the count of equal ones the key
// already holds (Before): an empty helper, which stops helpers configured for all hosts from
// answering first, then helperCmd, and useHttpPath where it is not already true.
func (g gitConfig) plan(helperCmd string, urls []string) (configured, error) {
	var planned configured
	for _, url := range urls {
		section := "credential." + url
		exists, err := g.sectionExists(url)
		if err != nil {
			return configured{}, err
		}
		if !exists {
			planned.NewSections = append(planned.NewSections, section)
		}
		before, err := g.values(section + ".helper")
		if err != nil {
			return configured{}, err
		}
		for _, v := range []string{"", helperCmd} {
			planned.Entries = append(planned.Entries, gitEntry{Key: section + ".helper", Value: v, Before: count(before, v)})
		}
		// Only dev.azure.com carries the organisation in the path; visualstudio.com names it in
		// the host, and sending paths there would only split the cache per repository.
		if strings.Contains(url, "*.visualstudio.com") {
			continue
		}
		key := section + ".useHttpPath"
		if v, _ := g.run("--type=bool", "--get", key); strings.TrimSpace(v) != "true" {
			planned.Entries = append(planned.Entries, gitEntry{Key: key, Value: "true"})
		}
	}
	return planned, nil
}

// split divides c into what it added for urls' sections and the rest.
func (c configured) split(urls []string) (these, others configured) {
	// Keys and sections are matched whole: "credential.https://dev.azure.com." also starts
	// "credential.https://dev.azure.com.proxy.example.helper".
	ours := func(key string) bool {
		return slices.ContainsFunc(urls, func(u string) bool {
			rest, ok := strings.CutPrefix(key, "credential."+u)
			return ok && (rest == "" || rest == ".helper" || rest == ".useHttpPath")
		})
	}
	for _, e := range c.Entries {
		if ours(e.Key) {
			these.Entries = append(these.Entries, e)
		} else {
			others.Entries = append(others.Entries, e)
		}
	}
	for _, sec := range c.NewSections {
		if ours(sec) {
			these.NewSections = append(these.NewSections, sec)
		} else {
			others.NewSections = append(others.NewSections, sec)
		}
	}
	return these, others
}

// without drops the entries of key (its variable name in any case, as git gives it).
func (c configured) without(key string) configured {
	c.Entries = slices.DeleteFunc(slices.Clone(c.Entries), func(e gitEntry) bool {
		i, j := strings.LastIndexByte(e.Key, '.'), strings.LastIndexByte(key, '.')
		return e.Key[:i] == key[:j] && strings.EqualFold(e.Key[i:], key[j:])
	})
	return c
}

func (c configured) merge(d configured) configured {
	return configured{Entries: append(c.Entries, d.Entries...), NewSections: append(c.NewSections, d.NewSections...)}
}

// remove undoes what an earlier configure recorded: the values it added that are still there,
// never one of the user's equal to one of them (an empty helper, say), leaving the key's other
// values where they are, since their order, across sections too, is the order git asks helpers in.
func (g gitConfig) remove(c configured) error {
	var keys []string
	added := map[string][]gitEntry{}
	for _, e := range c.Entries {
		if _, seen := added[e.Key]; !seen {
			keys = append(keys, e.Key)
		}
		added[e.Key] = append(added[e.Key], e)
	}
	for _, key := range keys {
		values, err := g.values(key)
		if err != nil {
			return err
		}
		ours, theirs := ourValues(values, added[key])
		switch {
		case len(ours) == 0:
			continue // already gone: the user removed them by hand
		case theirs == 0:
			// The common case: no value of ours is also the user's, so each can go in place.
			for _, v := range slices.Compact(slices.Sorted(slices.Values(ours))) {
				if _, err := g.run("--fixed-value", "--unset-all", key, v); err != nil {
					return err
				}
			}
		default:
			if err := g.rewrite(key, withoutAdded(values, ours)); err != nil {
				return err
			}
		}
	}
	for _, section := range c.NewSections {
		exists, err := g.sectionExists(strings.TrimPrefix(section, "credential."))
		if err != nil {
			return err
		}
		if !exists {
			g.run("--remove-section", section) // may already be gone; nothing to undo then
		}
	}
	return nil
}

// ourValues lists, in the order configure added them, the values of added still to remove from
// values: for each value, as many as the key holds beyond the user's from before configure
// (Before). theirs counts the other values equal to one of those: the user's, from before or
// added since (a record from before Before was kept counts them all here).
func ourValues(values []string, added []gitEntry) (ours []string, theirs int) {
	left := map[string]int{}
	for _, e := range added {
		if _, seen := left[e.Value]; !seen {
			left[e.Value] = count(values, e.Value) - e.Before
		}
	}
	for _, e := range added {
		if left[e.Value] > 0 {
			left[e.Value]--
			ours = append(ours, e.Value)
		}
	}
	for _, v := range slices.Compact(slices.Sorted(slices.Values(ours))) {
		theirs += count(values, v) - count(ours, v)
	}
	return ours, theirs
}

func count(list []string, v string) int {
	n := 0
	for _, x := range list {
		if x == v {
			n++
		}
	}
	return n
}

// rewrite replaces key's values by values. git cannot remove one of two equal values, so all go
// and the rest come back, in order. A journal key beside it holds them meanwhile, after their
// count: it keeps the section from being emptied, which would make git drop it and add it again
// at the end of the file, and if the rewrite is cut short (Ctrl-C), the next configure or
// unconfigure of this config finishes it (finishRewrites) instead of leaving the user's values
// lost.
func (g gitConfig) rewrite(key string, values []string) error {
	journal := journalOf(key)
	for _, v := range slices.Concat([]string{strconv.Itoa(len(values))}, values) {
		if _, err := g.run("--add", journal, v); err != nil {
			return err
		}
	}
	return g.finishRewrite(key)
}

// journalPrefix starts the name of the key in which a rewrite notes the values it puts back.
const journalPrefix = "gitCredentialAzdoRewriting-"

func journalOf(key string) string {
	i := strings.LastIndexByte(key, '.') // variable names hold no dot; URLs in section names do
	return key[:i+1] + journalPrefix + key[i+1:]
}

// finishRewrites finishes every rewrite cut short in this config, and drops the placeholder of
// an older version's ("gitCredentialAzdoEditing"), which holds nothing to finish with.
func (g gitConfig) finishRewrites() error {
	out, err := g.run("-z", "--name-only", "--get-regexp", `^credential\..*\.gitcredentialazdo[^.]*$`)
	if errors.Is(err, errNoValue) {
		return nil
	}
	if err != nil {
		return err
	}
	names := strings.Split(strings.TrimSuffix(out, "\x00"), "\x00")
	for _, name := range slices.Compact(slices.Sorted(slices.Values(names))) {
		i := strings.LastIndexByte(name, '.')
		// git gives variable names in lower case; it reads them in any.
		if variable, ok := strings.CutPrefix(name[i+1:], strings.ToLower(journalPrefix)); ok && variable != "" {
			err = g.finishRewrite(name[:i+1] + variable)
		} else {
			_, err = g.run("--unset-all", name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// finishRewrite gives key the values its journal holds, if the journal has them all, tells
// rewritten, and removes the journal. One cut short before it had them all had not touched key.
func (g gitConfig) finishRewrite(key string) error {
	journalKey := journalOf(key)
	journal, err := g.values(journalKey)
	if err != nil || len(journal) == 0 {
		return err
	}
	if n, err := strconv.Atoi(journal[0]); err == nil && n == len(journal)-1 {
		current, err := g.values(key)
		if err != nil {
			return err
		}
		if len(current) > 0 {
			if _, err := g.run("--unset-all", key); err != nil {
				return err
			}
		}
		for _, v := range journal[1:] {
			if _, err := g.run("--add", key, v); err != nil {
				return err
			}
		}
		if g.rewritten != nil {
			if err := g.rewritten(key); err != nil {
				return err
			}
		}
	}
	_, err = g.run("--unset-all", journalKey)
	return err
}

// withoutAdded removes ours (configure's values still there, in the order it added them) from
// values: as the run it is where found last, else each value's last occurrence.
func withoutAdded(values, ours []string) []string {
	for i := len(values) - len(ours); i >= 0; i-- {
		if slices.Equal(values[i:i+len(ours)], ours) {
			return slices.Concat(values[:i], values[i+len(ours):])
		}
	}
	out := slices.Clone(values)
	for _, a := range slices.Backward(ours) {
		for i := len(out) - 1; i >= 0; i-- {
			if out[i] == a {
				out = slices.Delete(out, i, i+1)
				break
			}
		}
	}
	return out
}

func loadConfigured(path string) (map[string]configured, error) {
	all := map[string]configured{}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return all, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("%s is unreadable (%v): remove it and check git's config by hand", path, err)
	}
	return all, nil
}

func saveConfigured(path string, all map[string]configured) error {
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(path, b)
}

func exeName(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}
