package store

import (
	"fmt"
	"os"
)

// noFollow: Windows has no FIFOs in the file system, and a user's profile, where the state
// directory lives, is closed to other users by its ACL.
const noFollow = 0

func openNoFollow(path string, flag int) (*os.File, error) { return os.OpenFile(path, flag, 0o600) }

// CheckDir checks that dir is a directory; its ACL, inherited from the user's profile, keeps
// other users out.
func CheckDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory: refusing it: remove it", dir)
	}
	return nil
}
