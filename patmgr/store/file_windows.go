package store

// isWindows: Unix permission bits mean nothing there; the file lives in the
// user's profile, which Windows ACLs already restrict.
func isWindows() bool { return true }

// syncDir: Windows cannot open a directory for flushing; rename is durable
// enough there once the file's own data was flushed.
func syncDir(string) {}
