package store

import (
	"io/fs"
	"os"
)

// noFollow: Windows has no FIFOs in the file system, and a user's profile, where the state
// directory lives, is closed to other users by its ACL.
const noFollow = 0

func openNoFollow(path string, flag int) (*os.File, error) { return os.OpenFile(path, flag, 0o600) }

// checkDirAccess accepts the directory: its ACL, inherited from the user's profile, keeps other
// users out.
func checkDirAccess(string, fs.FileInfo) error { return nil }
