//go:build unix

package orglock

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var u syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// BenchmarkWaitUnlocked reports the CPU time this process spends while it waits 50 ms for a lock
// another holds, with the Ps it has and with one, as the front waits:
//
//	go test -run '^$' -bench WaitUnlocked -benchtime 40x -count 5 ./patmgr/orglock/
func BenchmarkWaitUnlocked(b *testing.B) {
	for _, procs := range []int{runtime.GOMAXPROCS(0), 1} {
		b.Run(fmt.Sprintf("procs=%d", procs), func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			dir := b.TempDir()
			var cpu time.Duration
			for range b.N {
				held, err := Acquire(b.Context(), dir, "pat:k")
				if err != nil {
					b.Fatal(err)
				}
				release := time.AfterFunc(50*time.Millisecond, held.Unlock)
				before := cpuTime()
				if waited, err := WaitUnlocked(b.Context(), dir, "pat:k"); err != nil || !waited {
					b.Fatalf("waited=%v err=%v", waited, err)
				}
				cpu += cpuTime() - before
				release.Stop()
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}
