package patmgr

import (
	"strings"
	"testing"
	"time"
)

func TestRecordRenewalWindow(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	pat := func(from, to time.Time) *Record {
		return &Record{Kind: kindPAT, Token: "secret-token-value", ValidFrom: from, ValidTo: to}
	}
	tests := []struct {
		name        string
		rec         *Record
		renewBefore time.Duration
		servable    bool
		alive       bool
	}{
		{"fresh 30-day PAT", pat(now, now.Add(30*day)), 10 * day, true, true},
		{"just outside the window", pat(now.Add(-19*day), now.Add(10*day+time.Minute)), 10 * day, true, true},
		{"just inside the window", pat(now.Add(-20*day), now.Add(10*day-time.Minute)), 10 * day, false, true},
		{"expired", pat(now.Add(-31*day), now.Add(-day)), 10 * day, false, false},
		{"expires this instant", pat(now.Add(-30*day), now), 10 * day, false, false},
		// A policy clamped the PAT to 7 days, shorter than the window: renew at mid-life, not on every get.
		{"clamped, young", pat(now.Add(-day), now.Add(6*day)), 10 * day, true, true},
		{"clamped, past mid-life", pat(now.Add(-4*day), now.Add(3*day)), 10 * day, false, true},
		{"window equal to life", pat(now.Add(-time.Minute), now.Add(time.Hour-time.Minute)), time.Hour, true, true},
		{"no window", pat(now.Add(-29*day), now.Add(time.Minute)), 0, true, true},
		{"rejected by git", &Record{Kind: kindPAT, Token: "t0ken-value", Rejected: true, ValidFrom: now, ValidTo: now.Add(30 * day)}, 10 * day, false, false},
		{"no token", &Record{Kind: kindPAT, ValidFrom: now, ValidTo: now.Add(30 * day)}, 10 * day, false, false},
		{"policy fallback marker", &Record{Kind: kindEntra, ValidFrom: now, ValidTo: now.Add(day)}, 10 * day, false, false},
		{"nil record", nil, 10 * day, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rec.servable(now, tt.renewBefore); got != tt.servable {
				t.Errorf("servable = %v, want %v", got, tt.servable)
			}
			if got := tt.rec.alive(now); got != tt.alive {
				t.Errorf("alive = %v, want %v", got, tt.alive)
			}
		})
	}
}

func TestRecordHoldsComparesTheWholeSecret(t *testing.T) {
	r := &Record{Token: "abcdefghijklmnop"}
	for _, tt := range []struct {
		password string
		want     bool
	}{
		{"abcdefghijklmnop", true},
		{"abcdefghijklmno", false},
		{"abcdefghijklmnopq", false},
		{"", false},
		{"ABCDEFGHIJKLMNOP", false},
	} {
		if got := r.holds(tt.password); got != tt.want {
			t.Errorf("holds(%q) = %v, want %v", tt.password, got, tt.want)
		}
	}
	if (&Record{}).holds("") || (*Record)(nil).holds("x") {
		t.Error("an empty or missing record must hold nothing")
	}
}

func TestRecordPublicDropsOnlyTheSecret(t *testing.T) {
	r := Record{Kind: kindPAT, Org: "contoso", Token: "s3cret-value", AuthorizationID: "id", Scope: "vso.code"}
	p := r.public()
	if p.Token != "" || p.Org != "contoso" || p.AuthorizationID != "id" || p.Scope != "vso.code" {
		t.Fatalf("public() = %+v", p)
	}
	if r.Token == "" {
		t.Fatal("public() changed the original")
	}
}

func TestRecordKey(t *testing.T) {
	for _, tt := range []struct{ host, org, account, want string }{
		{"dev.azure.com", "contoso", "", "pat:dev.azure.com/contoso"},
		{"dev.azure.com", "contoso", "Alice@Contoso.com", "pat:dev.azure.com/contoso/alice@contoso.com"},
		{"127.0.0.1:8443", "fabrikam", "", "pat:127.0.0.1:8443/fabrikam"},
	} {
		if got := recordKey(tt.host, tt.org, tt.account); got != tt.want {
			t.Errorf("recordKey(%q, %q, %q) = %q, want %q", tt.host, tt.org, tt.account, got, tt.want)
		}
	}
}

func TestLockNameStaysInItsDirectory(t *testing.T) {
	for _, key := range []string{"pat:dev.azure.com/contoso", "../../etc/passwd", "pat:h/o/a@b.c", "msal", `a\b:c`} {
		name := lockName(key)
		for _, bad := range []string{"/", `\`, ":"} {
			if strings.Contains(name, bad) {
				t.Errorf("lockName(%q) = %q contains %q", key, name, bad)
			}
		}
		if name == "..lock" || name == "" {
			t.Errorf("lockName(%q) = %q", key, name)
		}
	}
}

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
	} {
		if got := humanTime(now.Add(tt.d), now); got != tt.want {
			t.Errorf("humanTime(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
