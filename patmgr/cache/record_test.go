package cache

import (
	"testing"
	"time"
)

func TestRecordRenewalWindow(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	pat := func(from, to time.Time) *Record {
		return &Record{Kind: KindPAT, Token: "secret-token-value", ValidFrom: from, ValidTo: to}
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
		{"rejected by git", &Record{Kind: KindPAT, Token: "t0ken-value", Rejected: true, ValidFrom: now, ValidTo: now.Add(30 * day)}, 10 * day, false, false},
		{"no token", &Record{Kind: KindPAT, ValidFrom: now, ValidTo: now.Add(30 * day)}, 10 * day, false, false},
		{"policy fallback marker", &Record{Kind: KindEntra, ValidFrom: now, ValidTo: now.Add(day)}, 10 * day, false, false},
		{"nil record", nil, 10 * day, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rec.Servable(now, tt.renewBefore); got != tt.servable {
				t.Errorf("servable = %v, want %v", got, tt.servable)
			}
			if got := tt.rec.Alive(now); got != tt.alive {
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
		if got := r.Holds(tt.password); got != tt.want {
			t.Errorf("Holds(%q) = %v, want %v", tt.password, got, tt.want)
		}
	}
	if (&Record{}).Holds("") || (*Record)(nil).Holds("x") {
		t.Error("an empty or missing record must hold nothing")
	}
}

func TestRecordPublicDropsOnlyTheSecret(t *testing.T) {
	r := Record{Kind: KindPAT, Org: "contoso", Token: "s3cret-value", AuthorizationID: "id", Scope: "vso.code"}
	p := r.Public()
	if p.Token != "" || p.Org != "contoso" || p.AuthorizationID != "id" || p.Scope != "vso.code" {
		t.Fatalf("Public() = %+v", p)
	}
	if r.Token == "" {
		t.Fatal("Public() changed the original")
	}
}

func TestRecordKey(t *testing.T) {
	for _, tt := range []struct{ host, org, account, want string }{
		{"dev.azure.com", "contoso", "", "pat:dev.azure.com/contoso"},
		{"dev.azure.com", "contoso", "Alice@Contoso.com", "pat:dev.azure.com/contoso/alice@contoso.com"},
		{"127.0.0.1:8443", "fabrikam", "", "pat:127.0.0.1:8443/fabrikam"},
	} {
		if got := Key(tt.host, tt.org, tt.account); got != tt.want {
			t.Errorf("Key(%q, %q, %q) = %q, want %q", tt.host, tt.org, tt.account, got, tt.want)
		}
	}
}

// TestRecordEncoding pins the stored form, JSON with these names: records written by one version
// are read by the next.
func TestRecordEncoding(t *testing.T) {
	r := &Record{
		Kind: KindPAT, Host: "dev.azure.com", Org: "contoso", Account: "alice@contoso.example", Token: "s3cret",
		Tenant: "organizations", TenantGuessed: true,
		ValidFrom: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ValidTo: time.Date(2026, 12, 1, 0, 0, 0, 1234567, time.UTC),
		UpdatedAt: time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC), PolicyError: "two\nlines \"quoted\"", Rejected: true,
	}
	want := `{"kind":"pat","host":"dev.azure.com","org":"contoso","account":"alice@contoso.example",` +
		`"tenant":"organizations","tenantGuessed":true,"token":"s3cret",` +
		`"validFrom":"2026-11-01T00:00:00Z","validTo":"2026-12-01T00:00:00.001234567Z","rejected":true,` +
		`"policyError":"two\nlines \"quoted\"","updatedAt":"2026-11-15T00:00:00Z"}`
	got, err := Encode(r)
	if err != nil || string(got) != want {
		t.Fatalf("Encode = %s, %v; want %s", got, err, want)
	}
	back, err := Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	if *back != *r {
		t.Errorf("round trip: %+v, want %+v", back, r)
	}
	if empty, _ := Encode(&Record{}); string(empty) != `{"kind":"","host":"","org":""}` {
		t.Errorf("an empty record encodes as %s", empty)
	}
	// A field this version does not know is a newer version's: skipped.
	r, err = Decode([]byte(`{"kind":"pat","futureField":{"x":1},"token":"t"}`))
	if err != nil || r.Kind != KindPAT || r.Token != "t" {
		t.Errorf("unknown field: %+v, %v", r, err)
	}
	for _, bad := range []string{`{"kind":"pat","token":"t"`, `{"validTo":"tomorrow"}`, "kind=\"pat\"\n"} {
		if r, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) = %+v, want an error", bad, r)
		}
	}
}
