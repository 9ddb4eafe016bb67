package azdotest

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// How Azure DevOps answers as it does today: both PAT API versions, the shapes of a refused
// token, clients whose tokens the PAT API will not take, and the current PAT format.

// refuseToken answers a request to the account-level APIs whose token Azure DevOps does not
// accept. A client that sends X-TFS-FedAuthRedirect: Suppress gets 401 JSON; otherwise a GET is
// redirected to the sign-in page on another host, a POST gets 203 with an HTML page and the
// other methods 401.
func (s *Server) refuseToken(w http.ResponseWriter, r *http.Request) {
	if strings.EqualFold(r.Header.Get("X-TFS-FedAuthRedirect"), "Suppress") || r.Method != http.MethodGet && r.Method != http.MethodPost {
		writeJSON(w, http.StatusUnauthorized, map[string]any{
			"$id": "1", "innerException": nil, "message": "TF400813: The user '' is not authorized to access this resource.",
			"typeName": "Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server",
			"typeKey":  "UnauthorizedRequestException", "errorCode": 0, "eventId": 3000,
		})
		return
	}
	if r.Method == http.MethodPost {
		signInPage(w)
		return
	}
	s.redirectToSignIn(w, r)
}

// SignInURL is where the emulator redirects a refused GET: the same server under the host name
// localhost, so that a client which followed the redirect shows in Counters as requests to
// "signin", and one that carried a credential there as requests to "signin.credential".
func (s *Server) SignInURL() string {
	return "https://localhost:" + s.URL[strings.LastIndex(s.URL, ":")+1:] + "/_signin"
}

func (s *Server) redirectToSignIn(w http.ResponseWriter, r *http.Request) {
	reply := s.URL + r.URL.RequestURI()
	w.Header().Set("Location", s.SignInURL()+"?realm=app.vssps.visualstudio.com&reply_to="+url.QueryEscape(reply))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusFound)
	_, _ = fmt.Fprintf(w, "<html><head><title>Object moved</title></head><body><h2>Object moved to <a href=%q>here</a>.</h2></body></html>\n", s.SignInURL())
}

// serveSignIn is the sign-in page a redirect points to. It counts whether a request came with
// a credential: a client must never carry one across the redirect.
func (s *Server) serveSignIn(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		s.mu.Lock()
		s.counters.Requests["signin.credential"]++
		s.mu.Unlock()
	}
	signInPage(w)
}

// The PAT API versions the emulator serves.
const (
	APIVersion71 = "7.1-preview.1"
	APIVersion72 = "7.2-preview.1"
)

// patErrors71 maps the codes only the 7.2 spec has to what a 7.1 caller gets instead.
var patErrors71 = map[string]string{
	"disablePatCreationPolicyViolation": "accessDenied",
	"globalPATCreationBlocked":          "globalPatPolicyViolation",
	"expiredPatCannotBeExtended":        "invalidValidTo",
	"failedToReadOrgPolicy":             "failedToReadTenantPolicy",
}

// SetPATScopes says whether the tokens of clientID carry the delegated scopes the PAT API wants
// (vso.pats, vso.pats_manage). A client registered without them (granted false) still signs
// in and its tokens still work for git, but the PAT API refuses them as it refuses any token it
// does not accept (refuseToken). Clients have them by default.
func (s *Server) SetPATScopes(clientID string, granted bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.st.clients[strings.ToLower(clientID)]
	if c == nil {
		return fmt.Errorf("client %s: %w", clientID, errNotFound)
	}
	c.noPATScopes = !granted
	return nil
}

// patScopesLocked says whether the access token of r was issued to a client with the PAT scopes.
func (s *Server) patScopesLocked(r *http.Request) bool {
	p := s.authenticateLocked(r, false)
	if p == nil || p.at == nil {
		return false
	}
	c := s.st.clients[strings.ToLower(p.at.clientID)]
	return c != nil && !c.noPATScopes
}

// patAlphabet is what a PAT is written in: letters and digits.
const patAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newPATSecret makes a PAT in the format Azure DevOps issues since July 2024: 84 characters,
// 76 random ones, the signature AZDO and 4 more.
func newPATSecret() string {
	b := randomBytes(80)
	out := make([]byte, 0, 84)
	for i, c := range b {
		if i == 76 {
			out = append(out, "AZDO"...)
		}
		out = append(out, patAlphabet[int(c)%len(patAlphabet)])
	}
	return string(out)
}
