package cli

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/keyringtest"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// TestScripts runs the command-line scripts in testdata/script, each against its own emulator,
// home directory, git config and helper state, with the private Secret Service of TestMain.
//
// Environment of a script (besides testscript's own):
//
//	HOME, GIT_CONFIG_GLOBAL       private; the global config includes the emulator's gitconfig
//	AZDO_STATE_DIR                $HOME/state
//	AZDO_LOGIN                    device (the emulator approves device codes by itself)
//	AZDO_SERVICE_URL, AZDO_AUTHORITY, AZDO_CA_FILE
//	                              point every command at the emulator (set them empty to use
//	                              the real service's defaults, e.g. for configure)
//	SERVICE_URL, AUTHORITY, CA_FILE, ORG, REPO_URL, EMULATOR_USER, EMULATOR_GITCONFIG
//
// Commands added for the scripts:
//
//	emu revoke-all | revoke ID | advance DURATION | policy (disable-pat-creation|max-lifespan D|none)
//	emu counter PATH WANT         assert a counter, e.g. patsCreated 1, requests/pats.list 0
//	emu pats                      print the emulator's PATs as JSON to stdout
//	jsonfield FILE PATH WANT      parse FILE (or stdout/stderr) as JSON and compare the value at
//	                              PATH (dots; numbers index arrays; "len" is the length) to WANT
//	                              (WANT "absent": there is no such key)
//	jsonmatch FILE PATH REGEXP    the same, matching a regular expression
//	jsonenv FILE PATH VAR         set VAR to the value at PATH
//	suggested FILE VAR [OLD NEW]  set VAR to the first command FILE (or stdout/stderr) tells the
//	                              user to run ('git-credential-azdo …'), OLD replaced by NEW, for
//	                              'exec sh -c $VAR' to run it as printed
//	exits CODE PROG ARGS...       run PROG like exec and require exit code CODE; stdout and
//	                              stderr are kept for the next commands
func TestScripts(t *testing.T) {
	t.Parallel()
	testenv.SkipOnWindows(t, "git (Git for Windows)")
	keyringtest.Require(t)
	bin := helperBinary(t)
	testscript.Run(t, testscript.Params{
		Dir:   filepath.Join("testdata", "script"),
		Setup: func(env *testscript.Env) error { return setupScript(env, bin) },
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"emu":       cmdEmu,
			"jsonfield": cmdJSONField,
			"jsonmatch": cmdJSONMatch,
			"jsonenv":   cmdJSONEnv,
			"exits":     cmdExits,
			"suggested": cmdSuggested,
		},
		RequireExplicitExec: true,
	})
}

const emuKey = "emulator"

// setupScript gives a script its world, with the program in bin first on PATH.
func setupScript(env *testscript.Env, bin string) error {
	dir := filepath.Join(env.WorkDir, ".emulator")
	srv, err := azdotest.NewServer(azdotest.Options{Dir: dir, AutoApprove: true})
	if err != nil {
		return err
	}
	env.Defer(srv.Close)
	env.Values[emuKey] = srv
	if keyringtest.Current() != nil {
		if err := purgeKeyring(srv); err != nil {
			return err
		}
		env.Defer(func() {
			if err := purgeKeyring(srv); err != nil {
				env.T().Log(err)
			}
		})
	}

	home := filepath.Join(env.WorkDir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	user, err := homeEnv(home, srv.GitConfig, bin, env.Getenv("PATH"))
	if err != nil {
		return err
	}
	set := map[string]string{
		"AZDO_SERVICE_URL":   srv.URL,
		"AZDO_AUTHORITY":     srv.URL,
		"AZDO_CA_FILE":       srv.CAFile,
		"SERVICE_URL":        srv.URL,
		"AUTHORITY":          srv.URL,
		"CA_FILE":            srv.CAFile,
		"ORG":                srv.Org,
		"REPO_URL":           srv.RepoURL,
		"EMULATOR_USER":      srv.User,
		"EMULATOR_GITCONFIG": srv.GitConfig,
	}
	for _, kv := range user {
		k, v, _ := strings.Cut(kv, "=")
		set[k] = v
	}
	for k, v := range set {
		env.Setenv(k, v)
	}
	return nil
}

func emulator(ts *testscript.TestScript) *azdotest.Server {
	return ts.Value(emuKey).(*azdotest.Server)
}

func cmdEmu(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: emu revoke-all|revoke ID|advance D|policy ...|counter PATH WANT|pats")
	}
	srv := emulator(ts)
	if neg && args[0] != "counter" {
		ts.Fatalf("emu %s does not support negation", args[0])
	}
	switch args[0] {
	case "revoke-all":
		n := 0
		for _, p := range srv.PATs() {
			if p.Status == "active" {
				ts.Check(srv.RevokePAT(p.AuthorizationID))
				n++
			}
		}
		ts.Logf("revoked %d PAT(s)", n)
	case "revoke":
		if len(args) != 2 {
			ts.Fatalf("usage: emu revoke ID")
		}
		ts.Check(srv.RevokePAT(args[1]))
	case "advance":
		if len(args) != 2 {
			ts.Fatalf("usage: emu advance DURATION")
		}
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		srv.Advance(d)
	case "policy":
		if len(args) < 2 {
			ts.Fatalf("usage: emu policy disable-pat-creation|restrict-full-scope|max-lifespan D|none")
		}
		var p azdotest.Policy
		switch args[1] {
		case "disable-pat-creation":
			p.DisablePATCreation = true
		case "restrict-full-scope":
			p.RestrictFullScope = true
		case "max-lifespan":
			if len(args) != 3 {
				ts.Fatalf("usage: emu policy max-lifespan DURATION")
			}
			d, err := time.ParseDuration(args[2])
			ts.Check(err)
			p.MaxLifespan = d
		case "none":
		default:
			ts.Fatalf("unknown policy %q", args[1])
		}
		ts.Check(srv.SetPolicy(srv.Org, p))
	case "counter":
		if len(args) != 3 {
			ts.Fatalf("usage: emu counter PATH WANT")
		}
		b, err := json.Marshal(srv.Counters())
		ts.Check(err)
		var v any
		ts.Check(json.Unmarshal(b, &v))
		got, ok := jsonAt(v, args[1])
		s := "0" // a request map has no entry for an endpoint never called
		if ok {
			s = jsonString(got)
		}
		if (s == args[2]) == neg {
			ts.Fatalf("emulator counter %s = %s, want %s%s (all: %s)", args[1], s, notIf(neg), args[2], b)
		}
	case "pats":
		b, err := json.MarshalIndent(srv.PATs(), "", "  ")
		ts.Check(err)
		ts.Stdout().Write(append(b, '\n'))
	default:
		ts.Fatalf("unknown emu command %q", args[0])
	}
}

func notIf(neg bool) string {
	if neg {
		return "not "
	}
	return ""
}

// readJSON parses a file of the script (stdout and stderr name the last command's output).
func readJSON(ts *testscript.TestScript, file string) any {
	var v any
	text := ts.ReadFile(file)
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		ts.Fatalf("%s is not JSON (%v):\n%s", file, err, text)
	}
	return v
}

// jsonAt follows a dotted (or, when keys have dots, slashed) path: object keys, array indices,
// and "len" for a length.
func jsonAt(v any, path string) (any, bool) {
	if path == "" || path == "." {
		return v, true
	}
	sep := "."
	if strings.Contains(path, "/") {
		sep = "/" // for keys with dots: requests/pats.list
	}
	for _, part := range strings.Split(path, sep) {
		switch x := v.(type) {
		case map[string]any:
			if part == "len" {
				v = float64(len(x))
				continue
			}
			var ok bool
			if v, ok = x[part]; !ok {
				return nil, false
			}
		case []any:
			if part == "len" {
				v = float64(len(x))
				continue
			}
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// jsonString renders a value the way a script writes it: strings bare, numbers without
// exponent, the rest as JSON.
func jsonString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return "null"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func jsonValue(ts *testscript.TestScript, args []string, usage string) (string, bool) {
	if len(args) != 3 {
		ts.Fatalf("usage: %s", usage)
	}
	got, ok := jsonAt(readJSON(ts, args[0]), args[1])
	if !ok {
		return "", false
	}
	return jsonString(got), true
}

func cmdJSONField(ts *testscript.TestScript, neg bool, args []string) {
	got, ok := jsonValue(ts, args, "jsonfield FILE PATH WANT")
	if args[2] == "absent" {
		if ok != neg {
			ts.Fatalf("%s: %s = %q, want it %sabsent", args[0], args[1], got, notIf(neg))
		}
		return
	}
	if !ok {
		if neg {
			return
		}
		ts.Fatalf("%s has nothing at %s:\n%s", args[0], args[1], ts.ReadFile(args[0]))
	}
	if (got == args[2]) == neg {
		ts.Fatalf("%s: %s = %q, want %s%q", args[0], args[1], got, notIf(neg), args[2])
	}
}

func cmdJSONMatch(ts *testscript.TestScript, neg bool, args []string) {
	got, ok := jsonValue(ts, args, "jsonmatch FILE PATH REGEXP")
	if !ok {
		if neg {
			return
		}
		ts.Fatalf("%s has nothing at %s:\n%s", args[0], args[1], ts.ReadFile(args[0]))
	}
	re, err := regexp.Compile(args[2])
	ts.Check(err)
	if re.MatchString(got) == neg {
		ts.Fatalf("%s: %s = %q, want it %smatching %q", args[0], args[1], got, notIf(neg), args[2])
	}
}

func cmdJSONEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("jsonenv does not support negation")
	}
	got, ok := jsonValue(ts, args, "jsonenv FILE PATH VAR")
	if !ok {
		ts.Fatalf("%s has nothing at %s:\n%s", args[0], args[1], ts.ReadFile(args[0]))
	}
	ts.Setenv(args[2], got)
}

func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = exitErr.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

var suggestedCommand = regexp.MustCompile(`'(git-credential-azdo [^']*)'`)

func cmdSuggested(ts *testscript.TestScript, neg bool, args []string) {
	if neg || (len(args) != 2 && len(args) != 4) {
		ts.Fatalf("usage: suggested FILE VAR [OLD NEW]")
	}
	m := suggestedCommand.FindStringSubmatch(ts.ReadFile(args[0]))
	if m == nil {
		ts.Fatalf("%s suggests no command", args[0])
	}
	cmd := m[1]
	if len(args) == 4 {
		cmd = strings.ReplaceAll(cmd, args[2], args[3])
	}
	ts.Logf("suggested: %s", cmd)
	ts.Setenv(args[1], cmd)
}
