//go:build unix

package keyringtest

import (
	"os/exec"
	"syscall"
)

func supported() error { return nil }

// setProcAttr puts the daemon in its own process group, so Stop can kill it
// together with anything it spawned, and (Linux) asks the kernel to kill it
// if the test binary dies first.
func setProcAttr(c *exec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(c.SysProcAttr)
}

func killGroup(c *exec.Cmd) {
	_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	_ = c.Process.Kill()
}
