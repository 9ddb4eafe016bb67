package keyringtest

// nativeSession: Windows has its keyring built in, the Credential Manager, so a session is only
// the bookkeeping that lets Require and Current see one: nothing to start, no environment to set.
// The items tests write go to the current user's Credential Manager: run them in a throwaway
// account or Wine prefix.
func nativeSession(dir string) *Session {
	s := &Session{dir: dir, saved: map[string]*string{}}
	current.Lock()
	s.outer, current.s = current.s, s
	current.Unlock()
	return s
}
