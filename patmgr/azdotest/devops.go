package azdotest

import (
	"net/http"
	"sort"
	"strings"
)

// The Azure DevOps side: organisation endpoint, profile and accounts.

// challenge answers 401 the way dev.azure.com does for an organisation, so
// clients can discover the tenant to sign in with. One backed by Microsoft
// accounts offers Basic alone.
func (s *Server) challenge(w http.ResponseWriter, o *org, msg string) {
	h := w.Header()
	if o.tenantID != MicrosoftAccounts {
		h.Add("WWW-Authenticate", "Bearer authorization_uri="+s.URL+"/"+o.tenantID)
	}
	h.Add("WWW-Authenticate", `Basic realm="`+s.URL+`/"`)
	if o.tenantID != MicrosoftAccounts {
		h.Add("WWW-Authenticate", "TFS-Federated")
	}
	h.Set("X-VSS-ResourceTenant", o.tenantID)
	writeJSON(w, http.StatusUnauthorized, map[string]any{"message": msg, "typeKey": "UnauthorizedRequestException"})
}

// signInPage is Azure DevOps' reply to a bad or missing credential on its
// REST APIs: 203 with an HTML page instead of JSON.
func signInPage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNonAuthoritativeInfo)
	_, _ = w.Write([]byte(`<!DOCTYPE html>
<html><head><title>Azure DevOps Services | Sign In</title></head>
<body><p>Sign in to continue to Azure DevOps (emulator).</p></body></html>
`))
}

func (s *Server) orgLocked(name string) *org { return s.st.orgs[strings.ToLower(name)] }

// memberOf says whether u may use org o with a delegated token: a member
// whose tenant is the organisation's, or any member of one backed by
// Microsoft accounts.
func memberOf(u *user, o *org) bool {
	return u != nil && u.orgs[strings.ToLower(o.name)] && (u.tenantID == o.tenantID || o.tenantID == MicrosoftAccounts)
}

// serveOrg is https://HOST/{org}: the anonymous probe clients use for tenant
// discovery, and a small page for an authenticated member.
func (s *Server) serveOrg(w http.ResponseWriter, r *http.Request) {
	name := strings.Trim(r.URL.Path, "/")
	s.mu.Lock()
	o := s.orgLocked(name)
	var p *principal
	var ok bool
	if o != nil {
		p = s.authenticateLocked(r, true)
		ok = p != nil && memberOf(p.user, o) && (p.pat == nil || s.patUsableLocked(p.pat, o))
	}
	s.mu.Unlock()
	switch {
	case o == nil:
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "TF400813: organisation " + name + " does not exist."})
	case !ok:
		s.challenge(w, o, "TF400813: The user is not authorized to access this resource.")
	default:
		writeJSON(w, http.StatusOK, map[string]any{
			"organization": o.name, "id": o.id, "tenantId": o.tenantID, "user": p.user.upn,
			"message": "Welcome to " + o.name + " (Azure DevOps emulator)",
		})
	}
}

// patUsableLocked says whether a PAT is live for organisation o.
func (s *Server) patUsableLocked(p *pat, o *org) bool {
	return p.status(s.clock.now()) == "active" && p.org == strings.ToLower(o.name)
}

// delegatedLocked authenticates the account-level APIs (profile, accounts,
// PAT lifecycle): only a delegated Entra token for Azure DevOps will do.
func (s *Server) delegatedLocked(r *http.Request) *user {
	p := s.authenticateLocked(r, false)
	if p == nil || p.at == nil {
		return nil
	}
	return p.user
}

// profileAPIVersion is the version of the profile and accounts APIs that clients call (FACTS 8).
const profileAPIVersion = "7.1"

func (s *Server) serveProfile(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u := s.delegatedLocked(r)
	s.mu.Unlock()
	if u == nil {
		s.refuseToken(w, r)
		return
	}
	if !apiVersion(w, r, profileAPIVersion) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": u.profileID, "displayName": u.name, "emailAddress": u.upn, "publicAlias": u.profileID,
		"coreRevision": 1, "timeStamp": s.clock.now().Format(timeLayout), "revision": 1,
	})
}

func (s *Server) serveAccounts(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.delegatedLocked(r)
	if u == nil {
		s.refuseToken(w, r)
		return
	}
	if !apiVersion(w, r, profileAPIVersion) {
		return
	}
	member := r.URL.Query().Get("memberId")
	if member == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "memberId or ownerId is required.", "typeKey": "ArgumentException"})
		return
	}
	if !strings.EqualFold(member, u.profileID) {
		writeJSON(w, http.StatusForbidden, map[string]any{"message": "You can only list your own accounts.", "typeKey": "UnauthorizedAccessException"})
		return
	}
	value := []map[string]any{}
	for _, o := range s.st.orgs {
		if memberOf(u, o) {
			value = append(value, map[string]any{"accountId": o.id, "accountUri": s.URL + "/" + o.name + "/", "accountName": o.name})
		}
	}
	sort.Slice(value, func(i, j int) bool { return value[i]["accountName"].(string) < value[j]["accountName"].(string) })
	writeJSON(w, http.StatusOK, map[string]any{"count": len(value), "value": value})
}
