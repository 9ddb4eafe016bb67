//go:build !unix

package keyringtest

import (
	"fmt"
	"os/exec"
	"runtime"
)

// supported: a Secret Service is a Unix (freedesktop) thing.
func supported() error {
	return fmt.Errorf("%w: not available on %s", errMissing, runtime.GOOS)
}

func setProcAttr(*exec.Cmd) {}

func killGroup(c *exec.Cmd) { _ = c.Process.Kill() }
