package config

import (
	"net/netip"
	"net/url"
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

// oldBaseHost is what httpsBase checked, and ServiceHost returned, through net/url.
func oldBaseHost(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Scheme != "https" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		strings.Trim(u.Path, "/") != "" {
		return "", false
	}
	return strings.ToLower(u.Host), true
}

// TestBaseHostAgreesWithNetURL: the written-out baseHost takes the URLs the helper is used with
// as net/url did, and refuses more of the rest.
func TestBaseHostAgreesWithNetURL(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		both bool // accepted by both; otherwise refused by baseHost
	}{
		{"https://login.microsoftonline.com", true},
		{"https://dev.azure.com/", true},
		{"https://127.0.0.1:35903", true},
		{"HTTPS://Login.Example.COM:443//", true},
		{"https://[::1]:8443", true},
		{"https://[:0]", false}, // fuzzing found it accepted by a first, looser IPv6 check
		{"https://[fe80::1]", true},
		{"https://my_proxy.corp.example", true},
		{"http://dev.azure.com", false},
		{"https://", false},
		{"https:///path", false},
		{"https://user@dev.azure.com", false},
		{"https://user:pw@dev.azure.com", false},
		{"https://dev.azure.com/org", false},
		{"https://dev.azure.com?x=1", false},
		{"https://dev.azure.com#frag", false},
		{"https://dev.azure.com:", false},
		{"https://dev.azure.com:http", false},
		{"https://dev.azure.com:123456", false},
		{"https://[::1", false},
		{"https://::1", false},
		{"https://[fe80::1%25eth0]", false},
		{"https://dev%2eazure.com", false},
		{"https://dev azure.com", false},
		{"https://dev.azure.com\\@evil.example", false},
		{"https://évil.example", false},
		{"dev.azure.com", false},
	} {
		got, ok := baseHost(tc.raw)
		old, oldOK := oldBaseHost(tc.raw)
		switch {
		case tc.both && (!ok || !oldOK || got != old):
			t.Errorf("baseHost(%q) = %q, %v; net/url: %q, %v; want both to accept it alike", tc.raw, got, ok, old, oldOK)
		case !tc.both && ok:
			t.Errorf("baseHost(%q) = %q, want it refused", tc.raw, got)
		}
	}
}

// FuzzBaseHost: whatever baseHost accepts, net/url accepted with the same host.
func FuzzBaseHost(f *testing.F) {
	for _, s := range []string{"https://dev.azure.com", "https://[::1]:8443/", "https://a@b", "https://h:1", "https://[:0]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := baseHost(raw)
		if !ok {
			return
		}
		if old, oldOK := oldBaseHost(raw); !oldOK || old != got {
			t.Errorf("baseHost(%q) = %q, but net/url gives %q, %v", raw, got, old, oldOK)
		}
	})
}

// TestValidIPv6AgreesWithNetip holds the written-out IPv6 check to net/netip's parser.
func TestValidIPv6AgreesWithNetip(t *testing.T) {
	for _, s := range []string{
		"::", "::1", "1::", "fe80::1:2", "1:2:3:4:5:6:7:8", "::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "64:ff9b::192.0.2.33",
		"ABCD:ef01::", "0001:0:0:0:0:0:0:0", "", ":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", ":1", "1:", "12345::",
		"::1.2.3", "1:2:3:4:5:6:7:1.2.3.4", "::256.1.1.1", "::01.2.3.4", "1.2.3.4", "1:2:3:4:5:6:7::", "::1:2:3:4:5:6:7",
		"::1:2:3:4:5:6:7:8", "g::1", "fe80::1%eth0", "1:2:3:4:5:6:7:8::", "::ffff:1.2.3.4:5",
	} {
		addr, err := netip.ParseAddr(s)
		want := err == nil && addr.Is6() && addr.Zone() == ""
		if got := validIPv6(s); got != want {
			t.Errorf("validIPv6(%q) = %v, netip says %v", s, got, want)
		}
	}
}

func FuzzValidIPv6(f *testing.F) {
	for _, s := range []string{"::1", "1:2:3:4:5:6:1.2.3.4", "1::2::3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addr, err := netip.ParseAddr(s)
		want := err == nil && addr.Is6() && addr.Zone() == ""
		if got := validIPv6(s); got != want {
			t.Errorf("validIPv6(%q) = %v, netip says %v", s, got, want)
		}
	})
}
