// Command importgroups checks what goimports leaves alone: each file's standard library imports
// come first, in one group, and the rest follow after a blank line. goimports -l checks the order
// within each group.
package main

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
)

func main() {
	bad := 0
	for _, path := range os.Args[1:] {
		if msg := check(path); msg != "" {
			fmt.Fprintf(os.Stderr, "%s: %s\n", path, msg)
			bad++
		}
	}
	if bad > 0 {
		os.Exit(1)
	}
}

func check(path string) string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
	if err != nil {
		return err.Error()
	}
	lastStd, firstOther := 0, 0
	prevLine, prevStd := 0, false
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		std := !strings.Contains(strings.Split(p, "/")[0], ".")
		line := fset.Position(imp.Pos()).Line
		switch {
		case std && firstOther > 0:
			return fmt.Sprintf("standard library import %q after other imports", p)
		case std && lastStd > 0 && prevStd && line != prevLine+1:
			return fmt.Sprintf("standard library imports split into groups at %q", p)
		case !std && firstOther == 0:
			firstOther = line
			if lastStd > 0 && line == lastStd+1 {
				return fmt.Sprintf("no blank line between the standard library and %q", p)
			}
		}
		if std {
			lastStd = line
		}
		prevLine, prevStd = line, std
	}
	return ""
}
