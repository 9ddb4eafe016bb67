package oskeyring

import (
	"errors"

	dbus "github.com/godbus/dbus/v5"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// mapPlatformErr recognises "no Secret Service" and "locked" in the errors of godbus and
// go-keyring (which returns them unwrapped, often as text), as the direct reader does.
func mapPlatformErr(err error) error {
	return store.MapSecretServiceError(err, dbusErrName(err))
}

// dbusErrName is the name of the godbus error in err's chain (by value or pointer), or "".
func dbusErrName(err error) string {
	var de dbus.Error
	if errors.As(err, &de) {
		return de.Name
	}
	var dp *dbus.Error
	if errors.As(err, &dp) && dp != nil {
		return dp.Name
	}
	return ""
}
