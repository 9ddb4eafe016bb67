package patmgr

import (
	"context"
	"testing"
	"time"
)

func TestWaitUnlocked(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if waited, err := waitUnlocked(ctx, dir, "pat:k"); err != nil || waited {
		t.Fatalf("free lock: waited=%v err=%v", waited, err)
	}
	unlock, err := lock(ctx, dir, "pat:k")
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
			w, err := waitUnlocked(ctx, dir, "pat:k")
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
	unlock()
	for range 3 {
		r := <-done
		if r.err != nil || !r.waited || r.at.Before(released) {
			t.Fatalf("waiter: %+v (released at %v)", r, released)
		}
	}
	// Nobody kept the lock: it can be taken at once.
	unlock, err = lock(ctx, dir, "pat:k")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if waited, err := waitUnlocked(short, dir, "pat:k"); err == nil || !waited {
		t.Fatalf("held lock and an ending context: waited=%v err=%v", waited, err)
	}
}
