// Command launcher runs one program and prints its wall time and peak resident set size, for the
// benchmarks in ../../../bench_test.go:
//
//	launcher STDIN-FILE STDOUT-FILE PROGRAM [ARG...]
//
// prints "WALL-NANOSECONDS MAXRSS-KILOBYTES" on its own stdout once PROGRAM has exited
// successfully. It exists because Linux counts the memory of the process that started a program
// in that program's peak RSS (the exec happens in a child sharing its parent's memory): started
// from the benchmark's test binary every program would show the test binary's size, started from
// this small program it shows its own (or this program's, about 2 MB, if that is larger).
package main

import (
	"os"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 4 {
		os.Stderr.WriteString("usage: launcher STDIN-FILE STDOUT-FILE PROGRAM [ARG...]\n")
		os.Exit(2)
	}
	stdin, err := os.Open(os.Args[1])
	if err != nil {
		fail(err)
	}
	stdout, err := os.OpenFile(os.Args[2], os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		fail(err)
	}
	attr := &os.ProcAttr{Env: os.Environ(), Files: []*os.File{stdin, stdout, os.Stderr}}
	start := time.Now()
	p, err := os.StartProcess(os.Args[3], os.Args[3:], attr)
	if err != nil {
		fail(err)
	}
	st, err := p.Wait()
	wall := time.Since(start)
	if err != nil {
		fail(err)
	}
	if !st.Success() {
		os.Stderr.WriteString("launcher: " + os.Args[3] + ": " + st.String() + "\n")
		os.Exit(1)
	}
	var rss int64
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		rss = int64(ru.Maxrss)
	}
	os.Stdout.WriteString(strconv.FormatInt(wall.Nanoseconds(), 10) + " " + strconv.FormatInt(rss, 10) + "\n")
}

func fail(err error) {
	os.Stderr.WriteString("launcher: " + err.Error() + "\n")
	os.Exit(1)
}
