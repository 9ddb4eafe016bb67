package cli

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// The line configure writes runs, through the shell git hands every helper to (Git for Windows'
// sh too), the program at path with args; and the commands that read settings back from git's
// config find them there.
func TestHelperLine(t *testing.T) {
	const settings = "--scope=vso.code vso.build"
	tests := []struct {
		path    string
		windows bool
		args    []string
		line    string
	}{
		{"/home/ada/go/bin/git-credential-azdo", false, nil, "/home/ada/go/bin/git-credential-azdo"},
		{"/home/ada/go/bin/git-credential-azdo", false, []string{settings, "--lifetime=7d"}, "/home/ada/go/bin/git-credential-azdo '--scope=vso.code vso.build' --lifetime=7d"},
		{"/Users/Ada Lovelace/go/bin/git-credential-azdo", false, nil, "!'/Users/Ada Lovelace/go/bin/git-credential-azdo'"},
		{"/home/o'brien/bin/git-credential-azdo", false, []string{"--store-file=$HOME/it's"}, `!/home/o\'brien/bin/git-credential-azdo --store-file=\$HOME/it\'s`},
		// On Unix a backslash is part of a name.
		{`/tmp/a\b/git-credential-azdo`, false, nil, `!/tmp/a\\b/git-credential-azdo`},
		{`C:\Users\ada\go\bin\git-credential-azdo.exe`, true, nil, "C:/Users/ada/go/bin/git-credential-azdo.exe"},
		{`C:\Users\Ada Lovelace\go\bin\git-credential-azdo.exe`, true, []string{"--store=file"}, "!'C:/Users/Ada Lovelace/go/bin/git-credential-azdo.exe' --store=file"},
		{`C:\Program Files (x86)\azdo\git-credential-azdo.exe`, true, []string{settings}, "!'C:/Program Files (x86)/azdo/git-credential-azdo.exe' '--scope=vso.code vso.build'"},
	}
	for _, tt := range tests {
		line := helperLine(tt.path, tt.windows, tt.args)
		if line != tt.line {
			t.Errorf("helperLine(%q, windows=%v, %q) = %s, want %s", tt.path, tt.windows, tt.args, line, tt.line)
		}
		if args, ours := config.HelperArgs(line); !ours || !slices.Equal(args, tt.args) {
			t.Errorf("HelperArgs(%s) = %q, %v; want %q, true", line, args, ours, tt.args)
		}
	}
	t.Run("sh", func(t *testing.T) {
		testenv.SkipOnWindows(t, "a POSIX sh (Git for Windows' own)")
		for _, tt := range tests {
			// git runs "LINE get" through sh -c, LINE without its "!"; printf shows the words sh reads.
			out, err := exec.Command("sh", "-c", `printf '%s\0' `+strings.TrimPrefix(tt.line, "!")+" get").Output()
			if err != nil {
				t.Fatalf("sh -c on %s: %v", tt.line, err)
			}
			path := tt.path
			if tt.windows {
				path = strings.ReplaceAll(path, `\`, "/")
			}
			if want := slices.Concat([]string{path}, tt.args, []string{"get"}); !slices.Equal(strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00"), want) {
				t.Errorf("sh reads %s as %q, want %q", tt.line, out, want)
			}
		}
	})
}

// unconfigure takes out what configure added, and nothing of the user's that equals it.
func TestWithout(t *testing.T) {
	const line = "/bin/git-credential-azdo"
	for _, tt := range []struct{ values, ours, want []string }{
		{[]string{"", line}, []string{"", line}, nil},
		{[]string{"manager", "", line}, []string{"", line}, []string{"manager"}},
		// the user's reset and helper added after configure's stay
		{[]string{"", line, "", "manager"}, []string{"", line}, []string{"", "manager"}},
		// a helper the user put between configure's reset and its line: the reset is not taken for configure's
		{[]string{"", "cache", line}, []string{"", line}, []string{"", "cache"}},
		// removed by hand: the user's equal values stay
		{[]string{"", "manager"}, []string{"", line}, []string{"", "manager"}},
		{[]string{"true", "true"}, []string{"true"}, []string{"true"}},
		{[]string{"false"}, []string{"true"}, []string{"false"}},
	} {
		if got := without(tt.values, tt.ours); !slices.Equal(got, tt.want) {
			t.Errorf("without(%q, %q) = %q, want %q", tt.values, tt.ours, got, tt.want)
		}
	}
}
