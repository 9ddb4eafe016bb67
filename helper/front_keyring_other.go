//go:build !linux

package helper

import "github.com/git-credential-azdo/git-credential-azdo/patmgr/store/oskeyring"

// frontKeyringItems: on macOS and Windows go-keyring is the only reader of the keyring.
var frontKeyringItems = oskeyring.Items{}
