package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/statelock"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// entry is one value configure added to a key of git's config: what unconfigure removes, never
// a helper or a useHttpPath the user set themselves.
type entry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
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
			g, id, err := configScope(ctx, *global, *system, *local, *file)
			if dir := filepath.Dir(g.scope[len(g.scope)-1]); err == nil && add && *file != "" {
				if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
					return usagef("--file %s: the directory %s does not exist: create it first", *file, dir)
				}
			}
			// The record is found whatever --state-dir says: that is the helper's setting, for its line.
			record := config.Config{StateDir: inv.getenv(config.EnvName("state-dir"))}
			if err == nil {
				if err := record.ResolveStateDir(); err != nil {
					return usagef("%v", err) // a relative AZDO_STATE_DIR
				}
			}
			if err != nil {
				return err
			}
			l, err := statelock.Acquire(ctx, record.StateDir, "configure") // one writer of the record at a time
			if err != nil {
				return err
			}
			defer l.Unlock()
			path, all := filepath.Join(record.StateDir, "configured.json"), map[string][]entry{}
			if b, err := os.ReadFile(path); err == nil {
				if err := json.Unmarshal(b, &all); err != nil {
					return fmt.Errorf("%s is unreadable (%w): remove it, and what configure added to git's config, by hand", path, err)
				}
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
			var keys []string // configure's for these URLs; unconfigure's come from the record
			line, urls := inv.helperCommand(), inv.configuredURLs()
			for _, url := range urls {
				// visualstudio.com names the organisation in the host: a path would only split
				// the cache per repository.
				switch {
				case !add:
				case strings.Contains(url, "*.visualstudio.com"):
					keys = append(keys, "credential."+url+".helper")
				default:
					keys = append(keys, "credential."+url+".helper", "credential."+url+".useHttpPath")
				}
			}
			var kept, added []entry // configure keeps what it added for other URLs
			for _, e := range all[id] {
				switch {
				case slices.Contains(keys, e.Key):
				case add:
					kept = append(kept, e)
				default:
					keys = append(keys, e.Key)
				}
			}
			for _, key := range keys {
				values, err := g.values(key)
				if err != nil {
					return err
				}
				var ours, want []string
				for _, e := range all[id] {
					if e.Key == key {
						ours = append(ours, e.Value)
					}
				}
				rest := without(values, ours)
				switch {
				case !add:
				case strings.HasSuffix(key, ".helper"):
					rest = slices.DeleteFunc(rest, func(v string) bool { return v == line }) // a configure the record lost
					if want = []string{line}; len(rest) == 0 || rest[0] != "" {
						// The empty value resets the list: helpers set for every host do not answer first.
						want = []string{"", line}
					}
				case len(rest) == 0 || !slices.Contains([]string{"true", "yes", "on", "1"}, strings.ToLower(rest[len(rest)-1])):
					want = []string{"true"}
				}
				if err := g.set(key, values, rest, want); err != nil {
					return err
				}
				for _, v := range want {
					added = append(added, entry{key, v})
				}
			}
			had := len(all[id]) > 0
			if all[id] = slices.Concat(kept, added); len(all[id]) == 0 {
				delete(all, id)
			}
			b, err := json.MarshalIndent(all, "", "  ")
			if err == nil {
				err = store.WriteFileAtomic(path, b)
			}
			switch {
			case err != nil:
				return err
			case add:
				fmt.Fprintf(inv.stdout, "git now asks %s for Azure DevOps credentials (%s).\n", prog, strings.Join(urls, ", "))
			case had:
				fmt.Fprintf(inv.stdout, "Removed %s from git's config.\n", prog)
			default:
				fmt.Fprintf(inv.stdout, "Nothing to remove: %s did not configure this git config.\n", prog)
			}
			return nil
		}
	}
}

// configScope returns git config for the scope chosen, and the name the record keeps it under.
func configScope(ctx context.Context, global, system, local bool, file string) (gitConfig, string, error) {
	g := gitConfig{ctx: ctx, scope: []string{"--global"}}
	if len(slices.DeleteFunc([]bool{global, system, local, file != ""}, func(b bool) bool { return !b })) > 1 {
		return g, "", usagef("choose one of --global, --system, --local and --file")
	}
	switch {
	case system:
		g.scope = []string{"--system"}
		return g, "system", nil
	case local:
		out, err := exec.CommandContext(ctx, "git", "rev-parse", "--absolute-git-dir").Output()
		if err != nil {
			return g, "", errors.New("--local needs to run inside a git repository")
		}
		g.scope = []string{"--local"}
		return g, "local:" + strings.TrimSpace(string(out)), nil
	case file != "":
		abs, err := filepath.Abs(file)
		g.scope = []string{"--file", abs}
		return g, "file:" + abs, err
	}
	home := os.Getenv("GIT_CONFIG_GLOBAL")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return g, "global:" + home, nil
}

// configuredURLs are the URL scopes the helper is set for.
func (inv *invocation) configuredURLs() []string {
	if inv.cfg.ServiceURL != "" {
		return []string{strings.TrimRight(inv.cfg.ServiceURL, "/")}
	}
	return []string{"https://dev.azure.com", "https://*.visualstudio.com"}
}

// helperCommand is the helper line: this program's absolute path (PATH's, when that is the same
// file, so that a package manager's link keeps working across upgrades) and the settings given
// to configure. A short name ("azdo") would cost git a second git process on every call.
func (inv *invocation) helperCommand() string {
	path := "azdo" // git finds it on PATH, if this program cannot tell where it is
	if self, err := os.Executable(); err == nil {
		path = filepath.Join(filepath.Dir(self), prog) // the front, beside the full program
		if runtime.GOOS == "windows" {
			path += ".exe"
		}
		if _, err := os.Stat(path); err != nil {
			path = self
		}
		if onPath, err := exec.LookPath(prog); err == nil {
			a, errA := os.Stat(path)
			b, errB := os.Stat(onPath)
			if errA == nil && errB == nil && os.SameFile(a, b) {
				path, _ = filepath.Abs(onPath)
			}
		}
	}
	settings := inv.explicit
	if inv.cfg.ServiceURL != "" && !slices.ContainsFunc(settings, func(s string) bool { return strings.HasPrefix(s, "--service-url=") }) {
		// From the environment: the section is for this service, so the line must name it too.
		settings = append(slices.Clip(settings), "--service-url="+inv.cfg.ServiceURL)
	}
	return helperLine(path, runtime.GOOS == "windows", settings)
}

// helperLine writes path and args as the shell git runs every helper through (Git for Windows'
// own sh too) reads them. git runs a value as written only if it starts with an absolute path,
// so a path that needs quoting makes the value a shell command ("!"). On Windows the path takes
// forward slashes, which that sh leaves alone and git still takes for absolute (C:/...).
func helperLine(path string, windows bool, args []string) string {
	if windows {
		path = strings.ReplaceAll(path, `\`, "/")
	}
	line := shellQuote(path)
	if line != path {
		line = "!" + line
	}
	for _, a := range args {
		line += " " + shellQuote(a)
	}
	return line
}

// shellQuote quotes s for the shell, when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// without takes ours (what configure added to a key, in order) out of values: where it last
// occurs whole, else only its last value (the helper line, useHttpPath's true), never a lone
// empty helper, which is the user's when configure's line is not right after it.
func without(values, ours []string) []string {
	for i := len(values) - len(ours); len(ours) > 0 && i >= 0; i-- {
		if slices.Equal(values[i:i+len(ours)], ours) {
			return slices.Concat(values[:i], values[i+len(ours):])
		}
	}
	for i := len(values) - 1; len(ours) > 0 && i >= 0; i-- {
		if values[i] == ours[len(ours)-1] {
			return slices.Concat(values[:i], values[i+1:])
		}
	}
	return slices.Clone(values)
}

type gitConfig struct {
	ctx   context.Context
	scope []string
}

func (g gitConfig) run(args ...string) (string, error) {
	out, err := exec.CommandContext(g.ctx, "git", slices.Concat([]string{"config"}, g.scope, args)...).Output()
	if e := (*exec.ExitError)(nil); errors.As(err, &e) {
		if e.ExitCode() == 1 && len(e.Stderr) == 0 {
			return "", nil // a get of a key without values
		}
		return "", fmt.Errorf("git config %s: %s", strings.Join(args, " "), strings.TrimSpace(string(e.Stderr)))
	}
	return string(out), err
}

// values lists key's values in the order git reads them. A broken config file is an error, not
// a key without values: nothing is changed in a file git cannot read.
func (g gitConfig) values(key string) ([]string, error) {
	out, err := g.run("-z", "--get-all", key) // -z: a value may hold a newline
	if out == "" {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(out, "\x00"), "\x00"), err
}

// set changes key's values to rest (values less some of them) followed by add. What stays keeps
// its place, since the order of helpers, across sections too, is the order git asks them in; only
// when one of two equal values goes is the key written anew, in the last section that holds it.
func (g gitConfig) set(key string, values, rest, add []string) error {
	if slices.Equal(values, slices.Concat(rest, add)) {
		return nil
	}
	var gone []string // git removes every value equal to the one named
	n := 0
	for _, v := range values {
		if !slices.Contains(rest, v) {
			if n++; !slices.Contains(gone, v) {
				gone = append(gone, v)
			}
		}
	}
	if n < len(values)-len(rest) {
		// One of two equal values goes: write the key anew, all its values replaced by one
		// first, so that its section is never emptied (git would drop it, and add it again at
		// the end of the file).
		if _, err := g.run("--replace-all", key, rest[0]); err != nil {
			return err
		}
		gone, add = nil, slices.Concat(rest[1:], add)
	}
	for _, v := range gone {
		if _, err := g.run("--fixed-value", "--unset-all", key, v); err != nil {
			return err
		}
	}
	for _, v := range add {
		if _, err := g.run("--add", key, v); err != nil {
			return err
		}
	}
	return nil
}
