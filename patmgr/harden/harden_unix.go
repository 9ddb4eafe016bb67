//go:build unix && !linux

package harden

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// NoCoreDumps stops this process from ever writing a core dump: it sets RLIMIT_CORE to zero, the
// one control these systems give a process over its own core dumps.
func NoCoreDumps() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("disabling core dumps: %w", err)
	}
	return nil
}
