package helper

import (
	"os/exec"
	"syscall"
)

// dieWithFront makes the full program end when the front does: a helper git (or a person) kills
// must not go on signing in or minting in the background.
func dieWithFront(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
