package signin

import "regexp"

// aadstsPattern finds Entra's error code anywhere in MSAL's error, which quotes the reply body
// on a later line.
var aadstsPattern = regexp.MustCompile(`AADSTS(\d+)`)

// explainEntra turns an Entra refusal a real tenant sends into one line naming the fix.
func explainEntra(err error, clientID, tenant string) (string, bool) {
	m := aadstsPattern.FindStringSubmatch(err.Error())
	if m == nil {
		return "", false
	}
	var why string
	switch m[1] {
	case "9002332":
		why = "this is a personal Microsoft account, and the client " + clientID + " takes work or school accounts only: sign in with a work or school account, or use an app of your own that allows personal accounts (--client-id)"
	case "53003":
		why = "a Conditional Access policy of your tenant blocked this sign-in (device code sign-in is often blocked): use a browser sign-in (--login=browser), or a client your tenant allows (--client-id)"
	case "65001":
		why = "the client " + clientID + " needs consent in your tenant: ask an admin to grant it, or use an app of your own (--client-id)"
	case "50076":
		why = "your tenant requires multi-factor authentication, which the password flow cannot pass: use --login=browser or --login=device"
	case "50079":
		why = "your tenant requires you to set up multi-factor authentication, which the password flow cannot do: use --login=browser or --login=device"
	case "700016":
		why = "the tenant does not know the client ID " + clientID + ": check --client-id, or ask an admin to add the app to the tenant"
	case "90002":
		why = "there is no tenant " + tenant + ": check --tenant and --authority"
	default:
		return "", false
	}
	return "AADSTS" + m[1] + ": " + why, true
}
