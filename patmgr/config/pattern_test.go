package config

import (
	"regexp"
	"strings"
	"testing"
)

// The checks that run on every start are written out rather than regexps compiled at start-up;
// these tests hold each to the pattern it replaced.

// TestIsGUIDMatchesPattern checks the written-out IsGUID against the pattern it replaced.
func TestIsGUIDMatchesPattern(t *testing.T) {
	pattern := regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	for _, s := range []string{
		DefaultClientID, DefaultResource, "00000000-0000-0000-0000-000000000000", "872CD9FA-D31F-45E0-9EAB-6E460A02D1F1", "",
		"872cd9fa-d31f-45e0-9eab-6e460a02d1f", "872cd9fa-d31f-45e0-9eab-6e460a02d1f1a", "872cd9fa_d31f-45e0-9eab-6e460a02d1f1",
		"872cd9fa-d31f-45e0-9eab-6e460a02d1fg", "872cd9fad-31f-45e0-9eab-6e460a02d1f1", "{872cd9fa-d31f-45e0-9eab-6e460a02d1f1}",
		"872cd9fa-d31f-45e0-9eab-6e460a02d1f\u00e9", "------------------------------------",
	} {
		if got, want := IsGUID(s), pattern.MatchString(s); got != want {
			t.Errorf("IsGUID(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzIsGUID(f *testing.F) {
	pattern := regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	f.Add(DefaultClientID)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := IsGUID(s), pattern.MatchString(s); got != want {
			t.Errorf("IsGUID(%q) = %v, want %v", s, got, want)
		}
	})
}

// domainPattern is what isDomainName checks, as the regexp it replaced.
var domainPattern = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$`)

func TestIsDomainNameMatchesPattern(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	for _, s := range []string{
		"contoso.onmicrosoft.com", "a.b", "A-1.b-2.C3", "x--y.z", label63 + ".com", label63 + "a.com", "com." + label63,
		"", ".", "a", "contoso", ".a.b", "a.b.", "a..b", "-a.b", "a-.b", "a.-b", "a.b-", "a_b.c", "a b.c", "a.b/c",
		"a.b?x", "a.b#", "é.com", "a.b\n", "0.0", "0%2e0", "1.2.3.4", "a.b.c.d.e.f.g",
	} {
		if got, want := isDomainName(s), domainPattern.MatchString(s); got != want {
			t.Errorf("isDomainName(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzIsDomainName(f *testing.F) {
	for _, s := range []string{"contoso.onmicrosoft.com", "a-.b", strings.Repeat("a", 64) + ".b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isDomainName(s), domainPattern.MatchString(s); got != want {
			t.Errorf("isDomainName(%q) = %v, want %v", s, got, want)
		}
	})
}
