package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/statelock"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// configureCmd is configure (add) and unconfigure. For each URL configure takes out its own
// values, puts the empty helper that resets the list first unless the list starts with one (so
// that helpers set for every host do not answer first), adds its line, and sets useHttpPath
// where the organisation is in the path. configured.json records, for each git config, the
// values configure added to each key, in order: unconfigure removes those, never a helper or a
// useHttpPath the user set.
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
			scope, id, err := configScope(ctx, *global, *system, *local, *file)
			if err != nil {
				return err
			}
			if dir := filepath.Dir(scope[len(scope)-1]); add && *file != "" {
				if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
					return usagef("--file %s: the directory %s does not exist: create it first", *file, dir)
				}
			}
			// The record is found whatever --state-dir says: that is the helper's setting, for its line.
			state := config.Config{StateDir: inv.getenv(config.EnvName("state-dir"))}
			if err := state.ResolveStateDir(); err != nil {
				return usagef("%v", err) // a relative AZDO_STATE_DIR
			}
			l, err := statelock.Acquire(ctx, state.StateDir, "configure") // one writer of the record at a time
			if err != nil {
				return err
			}
			defer l.Unlock()
			path, record := filepath.Join(state.StateDir, "configured.json"), map[string]map[string][]string{}
			if b, err := os.ReadFile(path); err == nil {
				if err := json.Unmarshal(b, &record); err != nil {
					return fmt.Errorf("%s is unreadable (%w): remove it, and what configure added to git's config, by hand", path, err)
				}
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}

			urls := []string{"https://dev.azure.com", "https://*.visualstudio.com"}
			if inv.cfg.ServiceURL != "" {
				urls = []string{strings.TrimRight(inv.cfg.ServiceURL, "/")}
			}
			// ours is this git config's record, edited key by key: the keys configure does not
			// edit (other URLs') keep their entries.
			ours, configured := map[string][]string{}, len(record[id]) > 0
			maps.Copy(ours, record[id])
			keys := slices.Sorted(maps.Keys(ours)) // unconfigure takes out all of them
			if add {
				keys = nil
				for _, url := range urls {
					keys = append(keys, "credential."+url+".helper")
					// visualstudio.com names the organisation in the host: a path would only
					// split the cache per repository.
					if !strings.Contains(url, "*.visualstudio.com") {
						keys = append(keys, "credential."+url+".useHttpPath")
					}
				}
			}
			line := inv.helperCommand()
			for _, key := range keys {
				values, err := gitConfig(ctx, scope, "--get-all", key)
				if err != nil {
					return err
				}
				rest, want := without(values, ours[key]), []string(nil)
				switch {
				case !add:
				case strings.HasSuffix(key, ".helper"):
					rest = slices.DeleteFunc(rest, func(v string) bool { return v == line }) // a configure the record lost
					if want = []string{"", line}; len(rest) > 0 && rest[0] == "" {
						want = want[1:] // the list is reset already
					}
				case len(rest) == 0 || !slices.Contains([]string{"true", "yes", "on", "1"}, strings.ToLower(rest[len(rest)-1])):
					want = []string{"true"}
				}
				for _, edit := range edits(key, values, rest, want) {
					if _, err := gitConfig(ctx, scope, edit...); err != nil {
						return err
					}
				}
				if ours[key] = want; len(want) == 0 {
					delete(ours, key)
				}
			}

			if record[id] = ours; len(ours) == 0 {
				delete(record, id)
			}
			b, err := json.MarshalIndent(record, "", "  ")
			if err == nil {
				err = store.WriteFileAtomic(path, b)
			}
			switch {
			case err != nil:
				return err
			case add:
				fmt.Fprintf(inv.stdout, "git now asks %s for Azure DevOps credentials (%s).\n", prog, strings.Join(urls, ", "))
			case configured:
				fmt.Fprintf(inv.stdout, "Removed %s from git's config.\n", prog)
			default:
				fmt.Fprintf(inv.stdout, "Nothing to remove: %s did not configure this git config.\n", prog)
			}
			return nil
		}
	}
}

// configScope returns the git config flags for the scope chosen, and the name the record keeps
// that config under.
func configScope(ctx context.Context, global, system, local bool, file string) ([]string, string, error) {
	switch {
	case len(slices.DeleteFunc([]bool{global, system, local, file != ""}, func(b bool) bool { return !b })) > 1:
		return nil, "", usagef("choose one of --global, --system, --local and --file")
	case system:
		return []string{"--system"}, "system", nil
	case local:
		out, err := exec.CommandContext(ctx, "git", "rev-parse", "--absolute-git-dir").Output()
		if err != nil {
			return nil, "", errors.New("--local needs to run inside a git repository")
		}
		return []string{"--local"}, "local:" + strings.TrimSpace(string(out)), nil
	case file != "":
		abs, err := filepath.Abs(file)
		return []string{"--file", abs}, "file:" + abs, err
	}
	home, _ := os.UserHomeDir()
	return []string{"--global"}, "global:" + cmp.Or(os.Getenv("GIT_CONFIG_GLOBAL"), home), nil
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
	if len(ours) > 1 {
		return without(values, ours[len(ours)-1:])
	}
	return slices.Clone(values)
}

// gitConfig runs git config on scope (--global, --file PATH...) and returns the values it
// prints, in the order git reads them (-z: a value may hold a newline). A broken config file is
// an error, not a key without values: nothing is changed in a file git cannot read.
func gitConfig(ctx context.Context, scope []string, args ...string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "git", slices.Concat([]string{"config", "-z"}, scope, args)...).Output()
	if e := (*exec.ExitError)(nil); errors.As(err, &e) {
		if e.ExitCode() == 1 && len(e.Stderr) == 0 {
			return nil, nil // a get of a key without values
		}
		return nil, fmt.Errorf("git config %s: %s", strings.Join(args, " "), strings.TrimSpace(string(e.Stderr)))
	}
	values := strings.Split(string(out), "\x00") // each value ends in a NUL
	return values[:len(values)-1], err
}

// edits returns the git config arguments that change key's values to rest (values less some of
// them) followed by add. What stays keeps its place, since the order of helpers, across sections
// too, is the order git asks them in.
func edits(key string, values, rest, add []string) (cmds [][]string) {
	after := slices.Concat(rest, add)
	if slices.Equal(values, after) {
		return nil
	}
	// git removes every value equal to the one named.
	gone := slices.DeleteFunc(slices.Clone(values), func(v string) bool { return slices.Contains(rest, v) })
	if len(after) > 0 && (len(rest) == 0 || len(gone) < len(values)-len(rest)) {
		// Every value goes and others come, or one of two equal values goes: write the key
		// anew, all its values replaced by the first, so that its section is never emptied (git
		// would drop it, and add the key again at the end of the file, after other helpers).
		cmds, gone, add = [][]string{{"--replace-all", key, after[0]}}, nil, after[1:]
	}
	slices.Sort(gone)
	for _, v := range slices.Compact(gone) {
		cmds = append(cmds, []string{"--fixed-value", "--unset-all", key, v})
	}
	for _, v := range add {
		cmds = append(cmds, []string{"--add", key, v})
	}
	return cmds
}
