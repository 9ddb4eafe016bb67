package azdo

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// The system errors a refused or unroutable connection ends with: Windows sockets report their
// own codes, which syscall's Unix-named errors do not match.
var (
	connRefused = []error{syscall.ECONNREFUSED, windows.WSAECONNREFUSED}
	unreachable = []error{syscall.ENETUNREACH, syscall.EHOSTUNREACH, windows.WSAENETUNREACH, windows.WSAEHOSTUNREACH}
)
