package signin

import (
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

func TestPickAccount(t *testing.T) {
	alice := func(realm string) public.Account {
		return public.Account{HomeAccountID: "a.home", Realm: realm, PreferredUsername: "alice@contoso.example"}
	}
	bob := public.Account{HomeAccountID: "b.home", Realm: "t3", PreferredUsername: "bob@contoso.example"}
	personal := public.Account{HomeAccountID: "p.home", Realm: "consumers", PreferredUsername: "alice@contoso.example"}
	tests := []struct {
		name      string
		accounts  []public.Account
		want      string
		tenant    string
		wantRealm string // "" = none picked
	}{
		{"none cached", nil, "", "t1", ""},
		{"the only one", []public.Account{alice("t1")}, "", "organizations", "t1"},
		{"one person in two tenants: the tenant's", []public.Account{alice("t1"), alice("t2")}, "", "t2", "t2"},
		{"one person in two tenants, neither asked for: the first", []public.Account{alice("t1"), alice("t2")}, "", "organizations", "t1"},
		{"two people, none named, neither the tenant's", []public.Account{alice("t1"), bob}, "", "t2", ""},
		{"two people, none named, one the tenant's", []public.Account{alice("t1"), bob}, "", "t3", "t3"},
		{"two people, one named", []public.Account{alice("t1"), bob}, "BOB@contoso.example", "t1", "t3"},
		{"named by home account", []public.Account{alice("t1"), alice("t2"), bob}, "a.home", "t2", "t2"},
		{"two people with one name: the tenant's", []public.Account{personal, alice("t1")}, "alice@contoso.example", "t1", "t1"},
		{"two people with one name, neither the tenant's", []public.Account{personal, alice("t1")}, "alice@contoso.example", "t2", ""},
		{"two people of one tenant, none named", []public.Account{alice("t1"), {HomeAccountID: "admin.home", Realm: "t1", PreferredUsername: "alice-admin@contoso.example"}}, "", "t1", ""},
		{"named but not cached", []public.Account{alice("t1")}, "carol@contoso.example", "t1", ""},
	}
	for _, tt := range tests {
		got, ok := pickAccount(tt.accounts, tt.want, tt.tenant)
		if ok != (tt.wantRealm != "") || ok && got.Realm != tt.wantRealm {
			t.Errorf("%s: picked %+v (ok=%v), want realm %q", tt.name, got, ok, tt.wantRealm)
		}
		if ok && tt.want != "" && !strings.EqualFold(got.PreferredUsername, tt.want) && got.HomeAccountID != tt.want {
			t.Errorf("%s: picked someone not named: %+v", tt.name, got)
		}
	}
}
