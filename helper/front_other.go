//go:build !linux

package helper

import "os/exec"

// dieWithFront has no portable equivalent of Linux's parent-death signal; elsewhere the full
// program finishes what it started, under its own locks, if the front is killed.
func dieWithFront(*exec.Cmd) {}
