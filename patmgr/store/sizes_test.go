package store_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
)

// TestItemsFitEveryKeyring: every item the helper writes to the keyring (PAT records and the MSAL
// token cache), cut as the Store cuts it on Windows and on macOS, fits that system's limits as
// go-keyring meets them. Wine does not enforce Windows' limit, and no Mac runs these tests, so
// the limits are checked here, on any system.
func TestItemsFitEveryKeyring(t *testing.T) {
	cfg := config.Defaults()
	org := strings.Repeat("o", 50) // the longest organisation name Azure DevOps allows
	account := "ada.lovelace-byron." + strings.Repeat("x", 40) + "@analytical-engine.contoso.example"
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	pat := &cache.Record{
		Kind: cache.KindPAT, Host: cfg.ServiceHost(), Org: org, Account: account,
		HomeAccountID:   "00000000-0000-0000-0000-000000000001.72f988bf-86f1-41af-91ab-2d7cd011db47",
		Tenant:          "72f988bf-86f1-41af-91ab-2d7cd011db47",
		AuthorizationID: "6f1a3b5c-2d4e-4f60-8a7b-9c0d1e2f3a4b",
		Token:           strings.Repeat("p", 84), // today's Azure DevOps PATs have 84 characters
		Scope:           "vso.code_write vso.packaging",
		DisplayName:     "git-credential-azdo on " + strings.Repeat("h", 63) + " for " + org,
		ValidFrom:       now, ValidTo: now.Add(7 * 24 * time.Hour), UpdatedAt: now,
		CreatedBy: "git-credential-azdo v1.10.100",
	}
	refused := *pat
	refused.Token, refused.Rejected = "", true
	refused.PolicyError = strings.Repeat("Your organization's policy does not allow the creation of this personal access token. ", 5)
	items := []struct {
		name, key string
		value     []byte
	}{
		{"PAT record", cache.Key(cfg.ServiceHost(), org, account), encode(t, pat)},
		{"refused record", cache.Key(cfg.ServiceHost(), org, account), encode(t, &refused)},
		// The key patmgr's Manager gives the MSAL cache.
		{"MSAL cache", "msal:" + strings.ToLower(cfg.Authority) + ":" + cfg.ClientID, msalCache(t)},
	}
	for _, goos := range []string{"windows", "darwin"} {
		for _, it := range items {
			parts, err := store.Split(goos, config.KeyringService, it.key, it.value)
			if err != nil {
				t.Fatalf("%s on %s: %v", it.name, goos, err)
			}
			t.Logf("%s on %s: %d bytes in %d items", it.name, goos, len(it.value), len(parts))
			for i, p := range parts {
				user := store.ItemName(it.key, i)
				if err := fits(goos, config.KeyringService, user, p); err != nil {
					t.Errorf("%s on %s, item %d of %d: %v", it.name, goos, i+1, len(parts), err)
				}
			}
			// The items hold the value whole: the header, then its base64.
			_, text, _ := strings.Cut(strings.Join(parts, ""), ":"+fmt.Sprint(len(parts))+":")
			_, text, _ = strings.Cut(text, ":")
			if got, err := base64.StdEncoding.DecodeString(text); err != nil || string(got) != string(it.value) {
				t.Errorf("%s on %s: the items do not hold the value (%v)", it.name, goos, err)
			}
			if it.name == "MSAL cache" && len(parts) < 10 {
				t.Errorf("MSAL cache on %s: %d items; a cache this size must be split", goos, len(parts))
			}
		}
	}
}

// fits says why go-keyring on goos would refuse to store secret under service and user, if it
// would.
func fits(goos, service, user, secret string) error {
	switch goos {
	case "windows":
		// go-keyring refuses a secret over 2,560 bytes, the Credential Manager's limit on a
		// credential blob, into which it copies the string's bytes; the credential's UserName
		// holds at most 513 UTF-16 units.
		if len(secret) > 2560 {
			return fmt.Errorf("%d bytes of blob, over 2,560", len(secret))
		}
		if n := len(utf16.Encode([]rune(user))); n > 513 {
			return fmt.Errorf("user name of %d UTF-16 units, over 513", n)
		}
	case "darwin":
		// go-keyring refuses a security(1) command line over 4,096 bytes; it quotes an argument
		// only when the shell needs it, so always quoting counts at least as many bytes.
		quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'" }
		line := "add-generic-password -U -s " + quote(service) + " -a " + quote(user) +
			" -w " + quote("go-keyring-base64:"+base64.StdEncoding.EncodeToString([]byte(secret))) + "\n"
		if len(line) > 4096 {
			return fmt.Errorf("a security command line of %d bytes, over 4,096", len(line))
		}
	}
	return nil
}

func encode(t *testing.T, r *cache.Record) []byte {
	t.Helper()
	b, err := cache.Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// msalCache is an MSAL token cache the size of a real one: two accounts signed in to four tenants
// each, with tokens of Entra ID's usual sizes (an access token for Azure DevOps about 3 KB, an ID
// token 1.5 KB, a refresh token 1.8 KB).
func msalCache(t *testing.T) []byte {
	token := func(n int) string {
		b := make([]byte, n*3/4)
		_, _ = rand.Read(b)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	sections := map[string]map[string]map[string]string{}
	add := func(section, key string, entry map[string]string) {
		if sections[section] == nil {
			sections[section] = map[string]map[string]string{}
		}
		sections[section][key] = entry
	}
	const env, client = "login.microsoftonline.com", config.DefaultClientID
	for a := range 2 {
		home := fmt.Sprintf("%08d-0000-0000-0000-000000000000.72f988bf-86f1-41af-91ab-2d7cd011db47", a)
		add("RefreshToken", home+"-"+env+"-refreshtoken-1--", map[string]string{
			"home_account_id": home, "environment": env, "credential_type": "RefreshToken",
			"client_id": client, "family_id": "1", "secret": token(1800),
		})
		for tenant := range 4 {
			realm := fmt.Sprintf("%08d-1111-2222-3333-444444444444", tenant)
			base := map[string]string{"home_account_id": home, "environment": env, "realm": realm, "client_id": client}
			with := func(extra map[string]string) map[string]string {
				m := map[string]string{}
				for k, v := range base {
					m[k] = v
				}
				for k, v := range extra {
					m[k] = v
				}
				return m
			}
			add("AccessToken", home+"-"+env+"-accesstoken-"+client+"-"+realm+"-499b4d9a-5b10-48d8-9ef4-9c6ad3a8c6c1/user_impersonation", with(map[string]string{
				"credential_type": "AccessToken", "secret": token(3000), "token_type": "Bearer",
				"target":    "499b4d9a-5b10-48d8-9ef4-9c6ad3a8c6c1/user_impersonation 499b4d9a-5b10-48d8-9ef4-9c6ad3a8c6c1/.default",
				"cached_at": "1796119200", "expires_on": "1796123500", "extended_expires_on": "1796123500",
			}))
			add("IdToken", home+"-"+env+"-idtoken-"+client+"-"+realm+"-", with(map[string]string{
				"credential_type": "IdToken", "secret": token(1500),
			}))
			add("Account", home+"-"+env+"-"+realm, with(map[string]string{
				"local_account_id": home[:36], "authority_type": "MSSTS",
				"username": fmt.Sprintf("user%d@contoso%d.example", a, tenant),
			}))
		}
	}
	add("AppMetadata", "appmetadata-"+env+"-"+client, map[string]string{"client_id": client, "environment": env, "family_id": "1"})
	b, err := json.Marshal(sections)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 40_000 {
		t.Fatalf("the MSAL cache is %d bytes; a real one with this many tokens is over 40,000", len(b))
	}
	return b
}
