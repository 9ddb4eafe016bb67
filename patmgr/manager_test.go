package patmgr

import (
	"testing"
	"time"
)

func TestHumanTime(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{30 * time.Second, "in less than a minute"},
		{time.Minute, "in 1 minute"},
		{59 * time.Minute, "in 59 minutes"},
		{time.Hour, "in 1 hour"},
		{47 * time.Hour, "in 47 hours"},
		{5 * 24 * time.Hour, "in 5 days"},
		{-3 * 24 * time.Hour, "3 days ago"},
		{30*24*time.Hour - time.Second, "in 30 days"},
		{59*time.Minute + 40*time.Second, "in 1 hour"},
		{47*time.Hour + 40*time.Minute, "in 2 days"},
		{-(29*24*time.Hour + 13*time.Hour), "30 days ago"},
	} {
		if got := humanTime(now.Add(tt.d), now); got != tt.want {
			t.Errorf("humanTime(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
