package statelock

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

func TestAcquireWaitsForTheHolderAndIsBoundedByItsContext(t *testing.T) {
	dir := testenv.TempDir(t)
	ctx := context.Background()
	held, err := Acquire(ctx, dir, "pat:k")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if l, err := Acquire(short, dir, "pat:k"); err == nil {
		l.Unlock()
		t.Fatal("took a held lock")
	} else if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for another git-credential-azdo to finish (lock "+Path(dir, "pat:k")+")") {
		t.Fatalf("want the one-line wait error, got %v", err)
	}
	if short.Err() == nil {
		t.Fatal("gave up before its deadline")
	}
	// Another key is another lock.
	other, err := Acquire(ctx, dir, "pat:other")
	if err != nil {
		t.Fatal(err)
	}
	other.Unlock()

	// A waiter takes the lock once it is released (that it is not taken while held is shown above).
	got := make(chan error, 1)
	go func() {
		l, err := Acquire(ctx, dir, "pat:k")
		if err == nil {
			l.Unlock()
		}
		got <- err
	}()
	held.Unlock()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// Only a held lock makes Acquire wait, and only then does its context's end say "waiting".
func TestAcquireTakesAFreeLockAfterItsContextEnded(t *testing.T) {
	dir := testenv.TempDir(t)
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	l, err := Acquire(ended, dir, "pat:k")
	if err != nil {
		t.Fatalf("free lock, ended context: %v", err)
	}
	defer l.Unlock()
	if _, err := Acquire(ended, dir, "pat:k"); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting for another") {
		t.Fatalf("held lock, ended context: %v", err)
	}
}

func TestWaitUnlockedWakesEveryWaiterAtRelease(t *testing.T) {
	dir := testenv.TempDir(t)
	ctx := context.Background()
	if waited, err := WaitUnlocked(ctx, dir, "pat:k"); err != nil || waited {
		t.Fatalf("free lock: waited=%v err=%v", waited, err)
	}
	held, err := Acquire(ctx, dir, "pat:k")
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		waited, afterRelease bool
		err                  error
	}
	var released atomic.Bool
	done := make(chan result, 3)
	for range 3 {
		go func() {
			w, err := WaitUnlocked(ctx, dir, "pat:k")
			done <- result{w, released.Load(), err}
		}()
	}
	// Where the OS shows who waits for a lock, every waiter is seen waiting before the release.
	blocked := waitersBlocked(t, Path(dir, "pat:k"), 3)
	released.Store(true)
	held.Unlock()
	for range 3 {
		r := <-done
		if r.err != nil || !r.afterRelease || blocked && !r.waited {
			t.Fatalf("waiter: %+v (seen waiting: %v)", r, blocked)
		}
	}
	// The waiters kept nothing.
	held, err = Acquire(ctx, dir, "pat:k")
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if waited, err := WaitUnlocked(short, dir, "pat:k"); !waited || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for another git-credential-azdo to finish") {
		t.Fatalf("held lock and an ending context: waited=%v err=%v", waited, err)
	}
	// The wait given up keeps nothing once the holder lets go: the lock can be taken again.
	held.Unlock()
	again, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	l, err := Acquire(again, dir, "pat:k")
	if err != nil {
		t.Fatalf("after a wait given up: %v", err)
	}
	l.Unlock()
}

func TestFileStemStaysInItsDirectory(t *testing.T) {
	for _, key := range []string{"pat:dev.azure.com/contoso", "../../etc/passwd", "pat:h/o/a@b.c", "msal", `a\b:c`, ".", ".."} {
		stem := FileStem(key)
		if strings.ContainsAny(stem, `/\:`) || stem == "" {
			t.Errorf("FileStem(%q) = %q", key, stem)
		}
		if dir := filepath.Join("state", "dir"); filepath.Dir(Path(dir, key)) != filepath.Join(dir, "locks") {
			t.Errorf("Path(%q, %q) = %q, outside the lock directory", dir, key, Path(dir, key))
		}
	}
}
