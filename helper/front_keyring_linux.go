package helper

import "github.com/git-credential-azdo/git-credential-azdo/patmgr/store"

// frontKeyringItems is nil on Linux: the front reads the Secret Service directly and hands
// whatever that reader cannot do (an unlock prompt) to the full program, so it links neither
// go-keyring nor godbus, whose start-up would cost every get.
var frontKeyringItems store.Items
