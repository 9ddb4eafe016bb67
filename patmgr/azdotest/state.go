package azdotest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// The directory the server emulates. Everything below is guarded by
// Server.mu; methods whose name ends in "Locked" expect the caller to hold it.

type tenant struct {
	id     string
	domain string // the UPN suffix of its users, e.g. "contoso.example"
}

type org struct {
	name     string
	id       string // the accountId / targetAccounts GUID
	tenantID string
	policy   Policy
}

type user struct {
	upn       string
	password  string
	name      string
	oid       string // Entra object id
	profileID string // Azure DevOps profile id (distinct from oid, as on the real service)
	tenantID  string
	orgs      map[string]bool // lower-case org names
}

type client struct {
	id     string
	secret string // "" for public clients
	oid    string // service principal object id, the oid of app-only tokens
	// noPATScopes marks a client whose tokens lack vso.pats and vso.pats_manage (SetPATScopes).
	noPATScopes bool
}

type pat struct {
	id          string
	secret      string
	displayName string
	scope       string
	org         string // lower-case org name
	upn         string
	validFrom   time.Time
	validTo     time.Time
	revoked     bool
}

type authCode struct {
	clientID    string
	redirectURI string
	challenge   string
	scope       string
	tenantSeg   string
	upn         string
	expires     time.Time
	used        bool
}

type deviceCode struct {
	code        string
	userCode    string
	clientID    string
	scope       string
	tenantSeg   string
	expires     time.Time
	approvedUPN string
}

// accessToken is what the server remembers about every access token it
// issued: resource servers validate by looking the token up here rather than
// by trusting claims a client could have forged.
type accessToken struct {
	upn      string // "" for app-only tokens
	clientID string
	aud      string
	tenantID string
	expires  time.Time
	// cae: the client declared the cp1 capability, so a critical event voids the token at once
	// and the resource answers with a claims challenge; voidedAt is that event.
	cae      bool
	voidedAt time.Time
}

type refreshToken struct {
	upn      string
	clientID string
	tenantID string
	scope    string
	expires  time.Time
	revoked  bool
}

// pendingSignIn is an authorize request waiting for the user to submit the
// sign-in page.
type pendingSignIn struct {
	tenantSeg string
	params    map[string]string
	expires   time.Time
}

type state struct {
	tenants  map[string]*tenant
	orgs     map[string]*org  // by lower-case name
	users    map[string]*user // by lower-case UPN
	clients  map[string]*client
	repos    map[string]string // "org/project/repo" lower-case -> bare repo path
	pats     map[string]*pat   // by authorization id
	patByKey map[string]*pat   // by secret
	codes    map[string]*authCode
	devices  map[string]*deviceCode // by device_code
	access   map[string]*accessToken
	refresh  map[string]*refreshToken
	pending  map[string]*pendingSignIn
	failures map[string]int // lower-case UPN, tenant GUID or domain -> AADSTS code (FailSignIns)
}

func newState() state {
	return state{
		tenants:  map[string]*tenant{},
		orgs:     map[string]*org{},
		users:    map[string]*user{},
		clients:  map[string]*client{},
		repos:    map[string]string{},
		pats:     map[string]*pat{},
		patByKey: map[string]*pat{},
		codes:    map[string]*authCode{},
		devices:  map[string]*deviceCode{},
		access:   map[string]*accessToken{},
		refresh:  map[string]*refreshToken{},
		pending:  map[string]*pendingSignIn{},
		failures: map[string]int{},
	}
}

// Policy is an organisation's PAT policy.
type Policy struct {
	DisablePATCreation bool          `json:"disablePatCreation"`
	RestrictFullScope  bool          `json:"restrictFullScope"`
	MaxLifespan        time.Duration `json:"-"` // 0 = unlimited; longer validTo values are clamped silently
}

// PATInfo describes a PAT for tests and the control API; it never carries
// the secret.
type PATInfo struct {
	AuthorizationID string    `json:"authorizationId"`
	DisplayName     string    `json:"displayName"`
	Scope           string    `json:"scope"`
	Org             string    `json:"org"`
	User            string    `json:"user"`
	ValidFrom       time.Time `json:"validFrom"`
	ValidTo         time.Time `json:"validTo"`
	Status          string    `json:"status"` // active, revoked or expired
}

var (
	errNotFound = errors.New("not found")
	errExists   = errors.New("already exists")
)

// newGUID returns a random (version 4) GUID in the lower-case form Entra and
// Azure DevOps print.
func newGUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return b
}

// randomToken is an opaque, unguessable URL-safe string.
func randomToken(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

func (p *pat) status(now time.Time) string {
	switch {
	case p.revoked:
		return "revoked"
	case !now.Before(p.validTo):
		return "expired"
	}
	return "active"
}

func (p *pat) info(now time.Time) PATInfo {
	return PATInfo{
		AuthorizationID: p.id, DisplayName: p.displayName, Scope: p.scope, Org: p.org, User: p.upn,
		ValidFrom: p.validFrom, ValidTo: p.validTo, Status: p.status(now),
	}
}

// ---- Go-level control, mirrored by the HTTP control API in control.go ----

// AddTenant creates a tenant. id may be "" (a GUID is generated) or a GUID;
// domain is the UPN suffix of its users ("" = "<first 8 hex digits>.example").
// It returns the tenant id.
func (s *Server) AddTenant(id, domain string) (string, error) {
	if id == "" {
		id = newGUID()
	}
	id = strings.ToLower(id)
	if !isGUID(id) {
		return "", fmt.Errorf("tenant id %q is not a GUID", id)
	}
	if domain == "" {
		domain = id[:8] + ".example"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.tenants[id]; ok {
		return "", fmt.Errorf("tenant %s: %w", id, errExists)
	}
	s.st.tenants[id] = &tenant{id: id, domain: strings.ToLower(domain)}
	return id, nil
}

// MicrosoftAccounts, given to AddOrg for a tenant, makes an organisation backed by Microsoft
// accounts, not by a tenant: its anonymous 401 names none (X-VSS-ResourceTenant is all zeros and
// only Basic is offered), and a user of any tenant can be made its member.
const MicrosoftAccounts = "00000000-0000-0000-0000-000000000000"

// AddOrg creates an Azure DevOps organisation backed by a tenant, or by MicrosoftAccounts.
func (s *Server) AddOrg(name, tenantID string) error {
	key := strings.ToLower(name)
	if key == "" || strings.ContainsAny(key, "/?#%@ ") || strings.HasPrefix(key, "_") {
		return fmt.Errorf("invalid organisation name %q", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.st.tenants[strings.ToLower(tenantID)]; !ok && tenantID != MicrosoftAccounts {
		return fmt.Errorf("tenant %s: %w", tenantID, errNotFound)
	}
	if _, ok := s.st.orgs[key]; ok {
		return fmt.Errorf("organisation %s: %w", name, errExists)
	}
	s.st.orgs[key] = &org{name: name, id: newGUID(), tenantID: strings.ToLower(tenantID)}
	return nil
}

// AddUser creates a user in a tenant and makes them a member of orgs (which
// must exist). Adding an existing user again adds the memberships.
func (s *Server) AddUser(upn, password, tenantID string, orgs ...string) error {
	key := strings.ToLower(upn)
	if !strings.Contains(key, "@") {
		return fmt.Errorf("user name %q is not a UPN", upn)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tid := strings.ToLower(tenantID)
	if _, ok := s.st.tenants[tid]; !ok {
		return fmt.Errorf("tenant %s: %w", tenantID, errNotFound)
	}
	for _, o := range orgs {
		if _, ok := s.st.orgs[strings.ToLower(o)]; !ok {
			return fmt.Errorf("organisation %s: %w", o, errNotFound)
		}
	}
	u := s.st.users[key]
	if u == nil {
		if password == "" {
			return errors.New("a new user needs a password")
		}
		name, _, _ := strings.Cut(upn, "@")
		u = &user{upn: upn, password: password, name: strings.ToUpper(name[:1]) + name[1:], oid: newGUID(),
			profileID: newGUID(), tenantID: tid, orgs: map[string]bool{}}
		s.st.users[key] = u
	} else if u.tenantID != tid {
		return fmt.Errorf("user %s exists in tenant %s", upn, u.tenantID)
	}
	for _, o := range orgs {
		u.orgs[strings.ToLower(o)] = true
	}
	return nil
}

// AddClient registers an application. With an empty secret it is a public
// client (device code, auth code, password); with a secret it is a
// confidential client that may use the client_credentials grant.
func (s *Server) AddClient(clientID, secret string) error {
	if !isGUID(clientID) {
		return fmt.Errorf("client id %q is not a GUID", clientID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.clients[strings.ToLower(clientID)] = &client{id: strings.ToLower(clientID), secret: secret, oid: newGUID()}
	return nil
}

// ApproveDeviceCode signs upn in for a pending device code, as if the user
// had entered userCode on the verification page.
func (s *Server) ApproveDeviceCode(userCode, upn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.approveDeviceCodeLocked(userCode, upn)
}

func (s *Server) approveDeviceCodeLocked(userCode, upn string) error {
	norm := func(c string) string { return strings.ToUpper(strings.ReplaceAll(c, "-", "")) }
	u := s.st.users[strings.ToLower(upn)]
	if u == nil {
		return fmt.Errorf("user %s: %w", upn, errNotFound)
	}
	now := s.clock.now()
	for _, dc := range s.st.devices {
		if norm(dc.userCode) != norm(userCode) {
			continue
		}
		if !now.Before(dc.expires) {
			return fmt.Errorf("device code %s has expired", userCode)
		}
		if !s.userInTenantLocked(u, dc.tenantSeg) {
			return fmt.Errorf("user %s is not in tenant %s", upn, dc.tenantSeg)
		}
		dc.approvedUPN = u.upn
		return nil
	}
	return fmt.Errorf("device code %s: %w", userCode, errNotFound)
}

// RevokePAT revokes a PAT out of band (as a user or admin would in the web UI).
func (s *Server) RevokePAT(authorizationID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.st.pats[strings.ToLower(authorizationID)]
	if p == nil {
		return fmt.Errorf("PAT %s: %w", authorizationID, errNotFound)
	}
	if !p.revoked {
		p.revoked = true
		s.counters.PATsRevoked++
	}
	return nil
}

// SetPolicy replaces an organisation's PAT policy.
func (s *Server) SetPolicy(orgName string, p Policy) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.st.orgs[strings.ToLower(orgName)]
	if o == nil {
		return fmt.Errorf("organisation %s: %w", orgName, errNotFound)
	}
	o.policy = p
	return nil
}

// PATs lists every PAT on the server, secrets left out, oldest first.
func (s *Server) PATs() []PATInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.now()
	out := make([]PATInfo, 0, len(s.st.pats))
	for _, p := range s.st.pats {
		out = append(out, p.info(now))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].ValidFrom.Equal(out[j].ValidFrom) {
			return out[i].ValidFrom.Before(out[j].ValidFrom)
		}
		return out[i].AuthorizationID < out[j].AuthorizationID
	})
	return out
}

// Advance moves the emulator clock forward (codes, tokens and PATs age;
// clients keep the wall clock).
func (s *Server) Advance(d time.Duration) { s.clock.advance(d) }

// Now is the emulator clock.
func (s *Server) Now() time.Time { return s.clock.now() }

// RevokeSessions revokes every refresh token of a user, like an admin's
// "revoke sessions": their next refresh_token grant fails with invalid_grant.
// It is a critical event for continuous access evaluation too: the user's CAE
// access tokens are voided (see ChallengeSessions); others stay valid until
// they expire, as on Entra.
func (s *Server) RevokeSessions(upn string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.users[strings.ToLower(upn)] == nil {
		return fmt.Errorf("user %s: %w", upn, errNotFound)
	}
	for _, rt := range s.st.refresh {
		if strings.EqualFold(rt.upn, upn) {
			rt.revoked = true
		}
	}
	s.voidCAETokensLocked(upn)
	return nil
}

// userInTenantLocked says whether u may sign in through the tenant path
// segment seg (a tenant GUID, its domain, "organizations" or "common").
func (s *Server) userInTenantLocked(u *user, seg string) bool {
	switch seg = strings.ToLower(seg); seg {
	case "organizations", "common":
		return true
	}
	t := s.tenantLocked(seg)
	return t != nil && t.id == u.tenantID
}

// tenantLocked resolves a specific tenant by GUID or domain name.
func (s *Server) tenantLocked(seg string) *tenant {
	seg = strings.ToLower(seg)
	if t, ok := s.st.tenants[seg]; ok {
		return t
	}
	for _, t := range s.st.tenants {
		if t.domain == seg {
			return t
		}
	}
	return nil
}
