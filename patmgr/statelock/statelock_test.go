package statelock

import (
	"context"
	"errors"
	"strings"
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
	start := time.Now()
	if l, err := Acquire(short, dir, "pat:k"); err == nil {
		l.Unlock()
		t.Fatal("took a held lock")
	} else if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "waiting for another git-credential-azdo to finish (lock "+Path(dir, "pat:k")+")") {
		t.Fatalf("want the one-line wait error, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("gave up after %s, not at its deadline", d)
	}
	// Another key is another lock.
	other, err := Acquire(ctx, dir, "pat:other")
	if err != nil {
		t.Fatal(err)
	}
	other.Unlock()

	got := make(chan error, 1)
	go func() {
		l, err := Acquire(ctx, dir, "pat:k")
		if err == nil {
			l.Unlock()
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("returned while the lock was held: %v", err)
	default:
	}
	held.Unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a released lock was not taken")
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
		waited bool
		err    error
		at     time.Time
	}
	done := make(chan result, 3)
	for range 3 {
		go func() {
			w, err := WaitUnlocked(ctx, dir, "pat:k")
			done <- result{w, err, time.Now()}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("returned while the lock was held: %+v", r)
	default:
	}
	released := time.Now()
	held.Unlock()
	for range 3 {
		r := <-done
		if r.err != nil || !r.waited || r.at.Before(released) {
			t.Fatalf("waiter: %+v (released at %v)", r, released)
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

func TestNameStaysInTheLockDirectory(t *testing.T) {
	for _, key := range []string{"pat:dev.azure.com/contoso", "../../etc/passwd", "pat:h/o/a@b.c", "msal", `a\b:c`} {
		name := Name(key)
		if strings.ContainsAny(name, `/\:`) || name == "..lock" || !strings.HasSuffix(name, ".lock") {
			t.Errorf("Name(%q) = %q", key, name)
		}
	}
}
