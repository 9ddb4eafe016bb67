package config

import (
	"reflect"
	"testing"
)

func TestHelperArgs(t *testing.T) {
	for _, tt := range []struct {
		line string
		args []string
		ours bool
	}{
		{"azdo", []string{}, true},
		{"azdo --scope=vso.code --store=file", []string{"--scope=vso.code", "--store=file"}, true},
		{"  azdo\t--trace  ", []string{"--trace"}, true},
		{"/usr/local/bin/git-credential-azdo --trace", []string{"--trace"}, true},
		{"C:/Users/me/bin/git-credential-azdo.exe", []string{}, true},
		{`'/opt/my tools/git-credential-azdo' '--scope=vso.code vso.packaging'`, []string{"--scope=vso.code vso.packaging"}, true},
		{`!'/opt/my tools/git-credential-azdo' --trace`, []string{"--trace"}, true},
		{`azdo '--ca-file=/tmp/it'\''s.pem'`, []string{"--ca-file=/tmp/it's.pem"}, true},
		{`azdo "--scope=vso.code \"x\""`, []string{`--scope=vso.code "x"`}, true},
		{`azdo --store-file=a\ b`, []string{"--store-file=a b"}, true},
		{`azdo ''`, []string{""}, true},
		{"", nil, false},
		{"store --file /home/azdo/creds", nil, false},
		{"manager", nil, false},
		{"!gh auth git-credential", nil, false},
		{"azdo2", nil, false},
		{"!azdo --trace", nil, false},                               // runs a program called azdo
		{"git-credential-azdo --trace", nil, false},                 // git runs git credential-git-credential-azdo
		{"/opt/git-credential-azdo-wrapper.sh --trace", nil, false}, // another program
		{"!git-credential-azdo --trace", []string{"--trace"}, true}, // found on PATH by the shell
		{`C:\Users\me\git-credential-azdo.exe`, nil, false},         // sh, which git runs it through, eats the backslashes
		{`azdo '--scope=vso.code`, nil, false},                      // sh cannot run it: a quote left open
	} {
		args, ours := HelperArgs(tt.line)
		if ours != tt.ours || ours && !reflect.DeepEqual(args, tt.args) {
			t.Errorf("HelperArgs(%q) = %q, %v; want %q, %v", tt.line, args, ours, tt.args, tt.ours)
		}
	}
}
