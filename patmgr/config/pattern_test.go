package config

import (
	"regexp"
	"testing"
)

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
