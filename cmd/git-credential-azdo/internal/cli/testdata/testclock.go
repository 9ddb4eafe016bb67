package cli

import (
	"os"
	"time"
)

// The end-to-end tests build the program with this file added (go build -overlay), which no
// user's build has: AZDO_TEST_CLOCK_SKEW then moves its clock ahead by a duration, so that a
// PAT's renewal window is stepped into instead of waited for.
func init() {
	if skew, err := time.ParseDuration(os.Getenv("AZDO_TEST_CLOCK_SKEW")); err == nil {
		now = func() time.Time { return time.Now().Add(skew) }
	}
}
