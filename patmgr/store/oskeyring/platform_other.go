//go:build !linux

package oskeyring

import "fmt"

// mapPlatformErr: go-keyring's errors on macOS and Windows are told apart by its own sentinels.
func mapPlatformErr(err error) error { return fmt.Errorf("keyring: %w", err) }
