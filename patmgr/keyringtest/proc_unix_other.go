//go:build unix && !linux

package keyringtest

import "syscall"

func setDeathSignal(*syscall.SysProcAttr) {}
