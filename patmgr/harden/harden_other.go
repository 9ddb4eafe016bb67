//go:build !unix

package harden

// noCoreDumps does nothing: Go's runtime keeps Windows Error Reporting, which would write a crash
// dump, out of a crash unless GOTRACEBACK=wer asks for it.
func noCoreDumps() error { return nil }
