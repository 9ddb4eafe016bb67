//go:build !unix

package harden

// NoCoreDumps does nothing: Go's runtime keeps Windows Error Reporting, which would write a crash
// dump, out of a crash unless GOTRACEBACK=wer asks for it.
func NoCoreDumps() error { return nil }
