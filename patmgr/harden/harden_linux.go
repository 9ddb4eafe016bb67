package harden

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// NoCoreDumps stops this process from ever writing a core dump. It sets both limits Linux has:
// RLIMIT_CORE stops the kernel writing a core file, and a process that is not dumpable is also
// refused to core-dump pipes (systemd-coredump, apport), which ignore RLIMIT_CORE, and to ptrace
// attach by other processes of the same user.
func NoCoreDumps() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("disabling core dumps: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("marking the process not dumpable: %w", err)
	}
	return nil
}
