package config

import (
	"flag"
	"reflect"
	"testing"
	"time"
)

func TestEverySettingIsOneField(t *testing.T) {
	fields := map[uintptr]string{}
	var c Config
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	c.RegisterFlags(fs)
	fs.VisitAll(func(f *flag.Flag) {
		v := f.Value
		if a, ok := v.(*authorityValue); ok {
			v = (*stringValue)(a.url)
		}
		p := reflect.ValueOf(v).Pointer()
		if other, dup := fields[p]; dup {
			t.Errorf("settings %s and %s set the same field", f.Name, other)
		}
		fields[p] = f.Name
	})
	// Every field but the password (AZDO_PASSWORD only, never on a command line) and where the
	// authority came from is a setting.
	if n := reflect.TypeOf(c).NumField() - 2; len(fields) != n {
		t.Errorf("%d settings for %d fields of Config", len(fields), n)
	}
}

func TestDurationValue(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "12h": 12 * time.Hour, "0d": 0, "90m": 90 * time.Minute,
		"106751d": 106751 * 24 * time.Hour} {
		var d durationValue
		if err := d.Set(in); err != nil || time.Duration(d) != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	for _, in := range []string{"", "d", "-1d", "1.5d", "-3h", "soon", "106752d", "213504d", "300000d", "9999999999999999999d"} {
		var d durationValue
		if err := d.Set(in); err == nil {
			t.Errorf("Set(%q) accepted %v", in, time.Duration(d))
		}
	}
}
