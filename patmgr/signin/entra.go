package signin

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// aadstsPattern finds Entra's error code anywhere in MSAL's error, which quotes the reply body
// on a later line.
var aadstsPattern = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`AADSTS(\d+)`)
})

// explainEntra turns an Entra refusal a real tenant sends into one line naming the fix.
func explainEntra(err error, clientID, tenant string) (string, bool) {
	m := aadstsPattern().FindStringSubmatch(err.Error())
	if m == nil {
		return "", false
	}
	why, ok := map[string]string{
		"9002332": "this is a personal Microsoft account, and the client " + clientID + " takes work or school accounts only: sign in with a work or school account, or use an app of your own that allows personal accounts (--client-id)",
		"53003":   "a Conditional Access policy of your tenant blocked this sign-in (device code sign-in is often blocked): use a browser sign-in (--login=browser), or a client your tenant allows (--client-id)",
		"65001":   "the client " + clientID + " needs consent in your tenant: ask an admin to grant it, or use an app of your own (--client-id)",
		"50076":   "your tenant requires multi-factor authentication, which the password flow cannot pass: use --login=browser or --login=device",
		"50079":   "your tenant requires you to set up multi-factor authentication, which the password flow cannot do: use --login=browser or --login=device",
		"700016":  "the tenant does not know the client ID " + clientID + ": check --client-id, or ask an admin to add the app to the tenant",
		"90002":   "there is no tenant " + tenant + ": check --tenant and --authority",
	}[m[1]]
	if !ok {
		return "", false
	}
	return "AADSTS" + m[1] + ": " + why, true
}

// explainStatus words an error status from Entra ID, which MSAL reports with its reply on the
// lines after "reply status code was N:", in one line: the status and request, then why (explainEntra's
// fix), else Entra's own description of the error, else what a passing failure asks for.
func explainStatus(err msalerrors.CallErr, why string) string {
	line := fmt.Sprintf("Entra ID answered HTTP %d to %s %s", err.Resp.StatusCode, err.Req.Method, err.Req.URL.Path)
	var reply struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_, body, _ := strings.Cut(err.Error(), "\n")
	if why == "" && json.Unmarshal([]byte(body), &reply) == nil {
		// Entra ends its description with trace and correlation IDs, on further lines or not.
		why, _, _ = strings.Cut(cmp.Or(reply.Description, reply.Error), "Trace ID:")
		why, _, _ = strings.Cut(why, "\n")
		why = strings.TrimSpace(why)
	}
	switch {
	case why != "":
		return line + ": " + why
	case err.Resp.StatusCode == http.StatusTooManyRequests || err.Resp.StatusCode >= 500:
		return line + ": the service failed for now; try again in a few minutes"
	}
	return line
}
