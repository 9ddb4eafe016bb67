//go:build unix && !linux

package harden

import (
	"fmt"

	"golang.org/x/sys/unix"
)

const wantLimits = "core=0/0"

// limits is what the kernel says of this process's core dumps.
func limits() string {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &lim); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("core=%d/%d", lim.Cur, lim.Max)
}
