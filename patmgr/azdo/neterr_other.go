//go:build !windows

package azdo

import "syscall"

// The system errors a refused or unroutable connection ends with.
var (
	connRefused = []error{syscall.ECONNREFUSED}
	unreachable = []error{syscall.ENETUNREACH, syscall.EHOSTUNREACH}
)
