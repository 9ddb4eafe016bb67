// Package harden limits what the operating system may copy out of this process: it holds PATs,
// access tokens and refresh tokens, and a core dump would write them to disk for anyone who can
// read the dump (a crash reporter, a shared working directory). NoCoreDumps is called first
// thing in main, before any secret is read.
package harden
