//go:build !linux

package store

import (
	"errors"

	"github.com/zalando/go-keyring"
)

func testItemErr(err error) error {
	if errors.Is(err, keyring.ErrNotFound) {
		return ErrNotFound
	}
	return err
}
