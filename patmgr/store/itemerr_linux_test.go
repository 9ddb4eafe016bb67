package store

import (
	"errors"

	dbus "github.com/godbus/dbus/v5"
	"github.com/zalando/go-keyring"
)

func testItemErr(err error) error {
	var de dbus.Error
	var dp *dbus.Error
	name := ""
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keyring.ErrNotFound):
		return ErrNotFound
	case errors.As(err, &de):
		name = de.Name
	case errors.As(err, &dp) && dp != nil:
		name = dp.Name
	}
	return MapSecretServiceError(err, name)
}
