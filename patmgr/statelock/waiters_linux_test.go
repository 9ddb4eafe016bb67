package statelock

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// waitersBlocked returns once n requests wait for the flock on path, as /proc/locks lists them
// ("->" before a request that waits), and reports that it saw them.
func waitersBlocked(t *testing.T, path string, n int) bool {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	file := fmt.Sprintf(" %02x:%02x:%d ", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		locks, err := os.ReadFile("/proc/locks")
		if err != nil {
			t.Fatal(err)
		}
		waiting := 0
		for _, l := range strings.Split(string(locks), "\n") {
			if strings.Contains(l, " -> FLOCK ") && strings.Contains(l, file) {
				waiting++
			}
		}
		if waiting >= n {
			return true
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d of %d waiters blocked on %s:\n%s", waiting, n, path, locks)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
