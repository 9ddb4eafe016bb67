//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package orglock

// Inherited returns nil: here no process passes a lock to another (see inherit.go).
func Inherited(stateDir, key string) *Lock { return nil }

// Claim does nothing: here no process passes a lock to another.
func Claim() {}
