package harden

import (
	"fmt"

	"golang.org/x/sys/unix"
)

const wantLimits = "core=0/0 dumpable=0"

// limits is what the kernel says of this process's core dumps.
func limits() string {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &lim); err != nil {
		return err.Error()
	}
	dumpable, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("core=%d/%d dumpable=%d", lim.Cur, lim.Max, dumpable)
}
