package azdotest

import (
	"sync"
	"time"
)

// clock is the emulator's notion of "now": wall time plus an offset that
// tests move forward with Advance. Every expiry on the server (codes, access
// tokens, refresh tokens, PATs) is judged on this clock, so a test can age a
// credential without sleeping. Clients (MSAL, git) keep using the wall clock,
// exactly as a real client would disagree with a real server after a jump.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Azure DevOps stores times in .NET ticks (100 ns); truncating here keeps
	// every timestamp we hand out exactly representable with 7 digits.
	return time.Now().Add(c.offset).UTC().Truncate(100 * time.Nanosecond)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
