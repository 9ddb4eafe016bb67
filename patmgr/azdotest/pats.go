package azdotest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The PAT lifecycle management API: {org}/_apis/tokens/pats.

// timeLayout prints timestamps as the service does: up to 7 fraction digits, trailing zeros
// dropped.
const timeLayout = "2006-01-02T15:04:05.9999999Z"

// knownScopes are the PAT scopes the emulator accepts; anything else is
// invalidScope. The vso.code family is what git needs.
var knownScopes = map[string]bool{
	"app_token": true, "vso.code": true, "vso.code_write": true, "vso.code_manage": true, "vso.code_full": true,
	"vso.code_status": true, "vso.build": true, "vso.build_execute": true, "vso.work": true, "vso.work_write": true,
	"vso.work_full": true, "vso.packaging": true, "vso.packaging_write": true, "vso.packaging_manage": true,
	"vso.project": true, "vso.project_write": true, "vso.project_manage": true, "vso.profile": true,
	"vso.release": true, "vso.release_execute": true, "vso.release_manage": true, "vso.test": true,
	"vso.test_write": true, "vso.wiki": true, "vso.wiki_write": true, "vso.variablegroups_read": true,
	"vso.tokens": true, "vso.tokenadministration": true, "vso.identity": true, "vso.graph": true,
	"vso.threads_full": true, "vso.serviceendpoint": true, "vso.pats": true, "vso.pats_manage": true,
}

// Scopes that let git read and write repositories.
var (
	readScopes  = []string{"vso.code", "vso.code_write", "vso.code_manage", "vso.code_full", "app_token"}
	writeScopes = []string{"vso.code_write", "vso.code_manage", "vso.code_full", "app_token"}
)

func scopeAllows(scope string, allowed []string) bool {
	for _, a := range allowed {
		if hasScope(scope, a) {
			return true
		}
	}
	return false
}

// patEndpoint names a PAT API request for counters and faults.
func patEndpoint(r *http.Request) string {
	switch r.Method {
	case http.MethodPost:
		return "pats.create"
	case http.MethodPut:
		return "pats.update"
	case http.MethodDelete:
		return "pats.revoke"
	}
	if r.URL.Query().Get("authorizationId") != "" {
		return "pats.get"
	}
	return "pats.list"
}

type patTokenJSON struct {
	DisplayName     string   `json:"displayName"`
	ValidTo         string   `json:"validTo"`
	Scope           string   `json:"scope"`
	TargetAccounts  []string `json:"targetAccounts"`
	ValidFrom       string   `json:"validFrom"`
	AuthorizationID string   `json:"authorizationId"`
	Token           *string  `json:"token"`
}

func (s *Server) patJSONLocked(p *pat, withSecret bool) *patTokenJSON {
	j := &patTokenJSON{
		DisplayName: p.displayName, ValidTo: p.validTo.Format(timeLayout), Scope: p.scope,
		TargetAccounts: []string{s.st.orgs[p.org].id}, ValidFrom: p.validFrom.Format(timeLayout), AuthorizationID: p.id,
	}
	if withSecret {
		secret := p.secret
		j.Token = &secret
	}
	return j
}

// patError is a PAT API failure carried in patTokenError.
type patError struct {
	status int
	code   string
	msg    string
}

// writePATResult answers in the envelope of r's api-version: a 7.1 caller gets neither the codes
// only 7.2 has nor patTokenErrorMessage.
func writePATResult(w http.ResponseWriter, r *http.Request, tok *patTokenJSON, e *patError) {
	v72 := r.URL.Query().Get("api-version") != APIVersion71
	out := map[string]any{"patToken": tok, "patTokenError": "none"}
	if e != nil {
		out = map[string]any{"patToken": nil, "patTokenError": e.code}
		if old, ok := patErrors71[e.code]; ok && !v72 {
			out["patTokenError"] = old
		}
	}
	if v72 {
		out["patTokenErrorMessage"] = nil
		if e != nil {
			out["patTokenErrorMessage"] = e.msg
		}
	}
	status := http.StatusOK
	if e != nil {
		status = e.status
	}
	writeJSON(w, status, out)
}

// vssError is the shape of Azure DevOps' generic REST errors.
func vssError(w http.ResponseWriter, status int, typeKey, msg string) {
	writeJSON(w, status, map[string]any{
		"$id": "1", "innerException": nil, "message": msg, "typeName": "Microsoft.VisualStudio.Services.WebApi." + typeKey,
		"typeKey": typeKey, "errorCode": 0, "eventId": 3000,
	})
}

func (s *Server) servePATs(w http.ResponseWriter, r *http.Request) {
	orgName := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orgLocked(orgName)
	if o == nil {
		vssError(w, http.StatusNotFound, "AccountNotFoundException", "TF400813: organisation "+orgName+" does not exist.")
		return
	}
	u := s.delegatedLocked(r)
	if u == nil || !s.patScopesLocked(r) {
		s.refuseToken(w, r)
		return
	}
	if !memberOf(u, o) {
		s.challenge(w, o, "TF400813: The user '"+u.upn+"' is not authorized to access this resource.")
		return
	}
	q := r.URL.Query()
	if !apiVersion(w, r, APIVersion72, APIVersion71) {
		return
	}
	switch r.Method {
	case http.MethodGet:
		if id := q.Get("authorizationId"); id != "" {
			p, e := s.ownPATLocked(u, o, id)
			if e != nil {
				writePATResult(w, r, nil, e)
				return
			}
			writePATResult(w, r, s.patJSONLocked(p, false), nil)
			return
		}
		s.listPATsLocked(w, r, u, o)
	case http.MethodPost:
		s.createPATLocked(w, r, u, o)
	case http.MethodPut:
		s.updatePATLocked(w, r, u, o)
	case http.MethodDelete:
		id := q.Get("authorizationId")
		p, e := s.ownPATLocked(u, o, id)
		if e != nil {
			writePATResult(w, r, nil, e)
			return
		}
		if !p.revoked {
			p.revoked = true
			s.counters.PATsRevoked++
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST, PUT, DELETE")
		vssError(w, http.StatusMethodNotAllowed, "MethodNotAllowedException", "The requested resource does not support http method '"+r.Method+"'.")
	}
}

// ownPATLocked finds one of u's PATs in o. authorizationNotFound is 404:
// the resource does not exist for this caller.
func (s *Server) ownPATLocked(u *user, o *org, id string) (*pat, *patError) {
	p := s.st.pats[strings.ToLower(strings.TrimSpace(id))]
	if p == nil || !strings.EqualFold(p.upn, u.upn) || p.org != strings.ToLower(o.name) {
		return nil, &patError{http.StatusNotFound, "authorizationNotFound", "No personal access token with authorization id '" + id + "' was found."}
	}
	return p, nil
}

// parseValidTo accepts the ISO 8601 forms clients send; a time without a
// zone is UTC, as .NET's DateTime parsing on the service would take it.
func parseValidTo(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC().Truncate(100 * time.Nanosecond), true
		}
	}
	return time.Time{}, false
}

// checkValidToLocked validates a requested expiry and applies the org's
// lifespan cap, which clamps silently like the real policy.
func (s *Server) checkValidToLocked(o *org, raw string) (time.Time, *patError) {
	now := s.clock.now()
	t, ok := parseValidTo(raw)
	if !ok || !t.After(now) {
		return time.Time{}, &patError{http.StatusBadRequest, "invalidValidTo", "The validTo value '" + raw + "' is not a valid future date."}
	}
	if max := o.policy.MaxLifespan; max > 0 && t.After(now.Add(max)) {
		t = now.Add(max)
	}
	return t, nil
}

func (s *Server) checkScopeLocked(o *org, scope string) (string, *patError) {
	fields := strings.Fields(scope)
	if len(fields) == 0 {
		return "", &patError{http.StatusBadRequest, "invalidScope", "A scope is required."}
	}
	for _, f := range fields {
		if !knownScopes[f] {
			return "", &patError{http.StatusBadRequest, "invalidScope", "The scope '" + f + "' is not valid."}
		}
		if f == "app_token" && o.policy.RestrictFullScope {
			return "", &patError{http.StatusBadRequest, "fullScopePatPolicyViolation", "The organisation's policy does not allow full-scoped personal access tokens."}
		}
	}
	return strings.Join(fields, " "), nil
}

type patRequest struct {
	AuthorizationID string `json:"authorizationId"`
	DisplayName     string `json:"displayName"`
	Scope           string `json:"scope"`
	ValidTo         string `json:"validTo"`
	AllOrgs         bool   `json:"allOrgs"`
}

func decodePATRequest(w http.ResponseWriter, r *http.Request) (*patRequest, bool) {
	var req patRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		vssError(w, http.StatusBadRequest, "ArgumentNullException", "The request body is not valid JSON: "+err.Error())
		return nil, false
	}
	return &req, true
}

func (s *Server) createPATLocked(w http.ResponseWriter, r *http.Request, u *user, o *org) {
	req, ok := decodePATRequest(w, r)
	if !ok {
		return
	}
	if o.policy.DisablePATCreation {
		writePATResult(w, r, nil, &patError{http.StatusBadRequest, "disablePatCreationPolicyViolation", "The organisation's policy does not allow creating personal access tokens."})
		return
	}
	if req.AllOrgs {
		// The service blocks every new global PAT; a 7.1 caller reads the older code (patErrors71).
		writePATResult(w, r, nil, &patError{http.StatusBadRequest, "globalPATCreationBlocked", "Creating personal access tokens for all accessible organisations is blocked."})
		return
	}
	scope, e := s.checkScopeLocked(o, req.Scope)
	if e != nil {
		writePATResult(w, r, nil, e)
		return
	}
	now := s.clock.now()
	validTo := now.Add(30 * 24 * time.Hour) // the service's default when none is given
	if req.ValidTo != "" {
		if validTo, e = s.checkValidToLocked(o, req.ValidTo); e != nil {
			writePATResult(w, r, nil, e)
			return
		}
	} else if max := o.policy.MaxLifespan; max > 0 && validTo.After(now.Add(max)) {
		validTo = now.Add(max)
	}
	p := &pat{
		id: newGUID(), secret: newPATSecret(), displayName: req.DisplayName, scope: scope,
		org: strings.ToLower(o.name), upn: u.upn, validFrom: now, validTo: validTo,
	}
	s.st.pats[p.id] = p
	s.st.patByKey[p.secret] = p
	s.counters.PATsCreated++
	writePATResult(w, r, s.patJSONLocked(p, true), nil)
}

func (s *Server) updatePATLocked(w http.ResponseWriter, r *http.Request, u *user, o *org) {
	req, ok := decodePATRequest(w, r)
	if !ok {
		return
	}
	p, e := s.ownPATLocked(u, o, req.AuthorizationID)
	if e == nil && p.revoked {
		e = &patError{http.StatusNotFound, "authorizationNotFound", "The personal access token '" + req.AuthorizationID + "' has been revoked."}
	}
	if e == nil && p.status(s.clock.now()) == "expired" {
		e = &patError{http.StatusBadRequest, "expiredPatCannotBeExtended", "An expired personal access token cannot be extended."}
	}
	if e == nil && req.AllOrgs {
		e = &patError{http.StatusBadRequest, "globalPatPolicyViolation", "Personal access tokens for all accessible organisations are blocked."}
	}
	var scope string
	var validTo time.Time
	if e == nil {
		scope, validTo = p.scope, p.validTo
	}
	if e == nil && req.Scope != "" {
		scope, e = s.checkScopeLocked(o, req.Scope)
	}
	if e == nil && req.ValidTo != "" {
		validTo, e = s.checkValidToLocked(o, req.ValidTo)
	}
	if e != nil {
		writePATResult(w, r, nil, e)
		return
	}
	if req.DisplayName != "" {
		p.displayName = req.DisplayName
	}
	p.scope = scope
	if req.ValidTo != "" {
		p.validTo = validTo
		s.counters.PATsRenewed++
	}
	writePATResult(w, r, s.patJSONLocked(p, false), nil)
}

// listCursor is the continuation token: the position in the sorted list.
// Paging is stable as long as the caller's PATs do not change in between.
type listCursor struct {
	Offset int `json:"o"`
}

func (s *Server) listPATsLocked(w http.ResponseWriter, r *http.Request, u *user, o *org) {
	q := r.URL.Query()
	now := s.clock.now()
	filter := strings.ToLower(q.Get("displayFilterOption"))
	if filter == "" {
		filter = "active"
	}
	if filter != "active" && filter != "revoked" && filter != "expired" && filter != "all" {
		vssError(w, http.StatusBadRequest, "ArgumentException", "displayFilterOption must be one of active, revoked, expired, all.")
		return
	}
	sortBy := strings.ToLower(q.Get("sortByOption"))
	if sortBy == "" {
		sortBy = "displayname"
	}
	if sortBy != "displayname" && sortBy != "displaydate" && sortBy != "status" {
		vssError(w, http.StatusBadRequest, "ArgumentException", "sortByOption must be one of displayName, displayDate, status.")
		return
	}
	asc := true
	if v := q.Get("isSortAscending"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			vssError(w, http.StatusBadRequest, "ArgumentException", "isSortAscending must be true or false.")
			return
		}
		asc = b
	}
	top := 100
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			vssError(w, http.StatusBadRequest, "ArgumentException", "$top must be a positive integer.")
			return
		}
		top = min(n, 100)
	}
	offset := 0
	if v := q.Get("continuationToken"); v != "" {
		var c listCursor
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err == nil {
			err = json.Unmarshal(b, &c)
		}
		if err != nil || c.Offset < 0 {
			vssError(w, http.StatusBadRequest, "ArgumentException", "The continuation token is not valid.")
			return
		}
		offset = c.Offset
	}

	var list []*pat
	for _, p := range s.st.pats {
		if !strings.EqualFold(p.upn, u.upn) || p.org != strings.ToLower(o.name) {
			continue
		}
		if st := p.status(now); filter == "all" || filter == st {
			list = append(list, p)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		var less, equal bool
		switch sortBy {
		case "displayname":
			less, equal = strings.ToLower(a.displayName) < strings.ToLower(b.displayName), strings.EqualFold(a.displayName, b.displayName)
		case "displaydate":
			less, equal = a.validTo.Before(b.validTo), a.validTo.Equal(b.validTo)
		default:
			sa, sb := a.status(now), b.status(now)
			less, equal = sa < sb, sa == sb
		}
		if equal {
			// The id breaks ties in both directions so pages never overlap.
			return a.id < b.id
		}
		return less == asc
	})
	page := []*patTokenJSON{}
	for i := offset; i < len(list) && len(page) < top; i++ {
		page = append(page, s.patJSONLocked(list[i], false))
	}
	next := ""
	if end := offset + len(page); end < len(list) {
		b, _ := json.Marshal(listCursor{Offset: end})
		next = base64.RawURLEncoding.EncodeToString(b)
	}
	writeJSON(w, http.StatusOK, map[string]any{"continuationToken": next, "patTokens": page})
}

// apiVersion answers as Azure DevOps does a request without an api-version, or with one the
// emulator does not serve (one of accepted, FACTS), and reports whether r may go on.
func apiVersion(w http.ResponseWriter, r *http.Request, accepted ...string) bool {
	v := r.URL.Query().Get("api-version")
	if slices.Contains(accepted, v) {
		return true
	}
	msg := "No api-version was supplied for the \"" + r.Method + "\" request. The version must be supplied either as part of the Accept header (e.g. \"application/json; api-version=1.0\") or as a query parameter (e.g. \"?api-version=1.0\")."
	if v != "" {
		msg = "The requested version \"" + v + "\" of the resource is not supported by this emulator; use " + strings.Join(accepted, " or ") + "."
	}
	vssError(w, http.StatusBadRequest, "VssVersionNotSupportedException", msg)
	return false
}
