package azdotest

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// The control API: JSON in and out under /_emulator/, mirroring the Go
// methods so a test in another language (or a person with curl) can drive
// the emulator of a running azdo-emulator binary.

// Info describes the default directory; the binary prints it as its ready line.
type Info struct {
	URL        string `json:"url"`
	CAFile     string `json:"caFile"`
	TenantID   string `json:"tenantId"`
	Org        string `json:"org"`
	Project    string `json:"project"`
	Repo       string `json:"repo"`
	User       string `json:"user"`
	Password   string `json:"password"`
	RepoURL    string `json:"repoUrl"`
	GitConfig  string `json:"gitConfig"`
	ControlURL string `json:"controlUrl"`
	Dir        string `json:"dir"`
}

// Info returns the server's defaults.
func (s *Server) Info() Info {
	return Info{
		URL: s.URL, CAFile: s.CAFile, TenantID: s.TenantID, Org: s.Org, Project: s.Project, Repo: s.Repo,
		User: s.User, Password: s.Password, RepoURL: s.RepoURL, GitConfig: s.GitConfig,
		ControlURL: s.URL + "/_emulator", Dir: s.Dir,
	}
}

// duration accepts Go duration strings ("90s", "24h") or a number of seconds.
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var secs float64
	if err := json.Unmarshal(b, &secs); err == nil {
		*d = duration(secs * float64(time.Second))
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return errors.New("a duration is a string such as \"90s\" or a number of seconds")
	}
	v, err := time.ParseDuration(str)
	*d = duration(v)
	return err
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(strings.TrimPrefix(r.URL.Path, "/_emulator"), "/")
	route := r.Method + " " + path
	// Parameterised routes first.
	if rest, ok := strings.CutPrefix(path, "orgs/"); ok && strings.HasSuffix(rest, "/policy") {
		route = r.Method + " orgs/{org}/policy"
		path = strings.TrimSuffix(rest, "/policy")
	}
	fail := func(err error) {
		status := http.StatusBadRequest
		if errors.Is(err, errNotFound) {
			status = http.StatusNotFound
		} else if errors.Is(err, errExists) {
			status = http.StatusConflict
		}
		writeJSON(w, status, map[string]string{"error": err.Error()})
	}
	decode := func(v any) bool {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
			fail(errors.New("bad JSON body: " + err.Error()))
			return false
		}
		return true
	}
	ok := func(v any) { writeJSON(w, http.StatusOK, v) }

	switch route {
	case "GET info", "GET ":
		ok(s.Info())
	case "POST tenants":
		var req struct{ ID, Domain string }
		if decode(&req) {
			if id, err := s.AddTenant(req.ID, req.Domain); err != nil {
				fail(err)
			} else {
				ok(map[string]string{"tenantId": id})
			}
		}
	case "POST orgs":
		var req struct{ Name, TenantID string }
		if decode(&req) {
			if req.TenantID == "" {
				req.TenantID = s.TenantID
			}
			if err := s.AddOrg(req.Name, req.TenantID); err != nil {
				fail(err)
			} else {
				s.mu.Lock()
				o := s.orgLocked(req.Name)
				ok(map[string]string{"name": o.name, "id": o.id, "tenantId": o.tenantID})
				s.mu.Unlock()
			}
		}
	case "POST users":
		var req struct {
			UPN, Password, TenantID string
			Orgs                    []string
		}
		if decode(&req) {
			if req.TenantID == "" {
				req.TenantID = s.TenantID
			}
			if err := s.AddUser(req.UPN, req.Password, req.TenantID, req.Orgs...); err != nil {
				fail(err)
			} else {
				ok(map[string]string{"upn": req.UPN})
			}
		}
	case "POST repos":
		var req struct{ Org, Project, Repo string }
		if decode(&req) {
			if err := s.AddRepo(req.Org, req.Project, req.Repo); err != nil {
				fail(err)
			} else {
				ok(map[string]string{"url": s.URL + "/" + req.Org + "/" + req.Project + "/_git/" + req.Repo})
			}
		}
	case "POST clients":
		var req struct{ ClientID, Secret string }
		if decode(&req) {
			if err := s.AddClient(req.ClientID, req.Secret); err != nil {
				fail(err)
			} else {
				ok(map[string]string{"clientId": strings.ToLower(req.ClientID)})
			}
		}
	case "POST clients/pat-scopes":
		var req struct {
			ClientID string
			Granted  bool
		}
		if decode(&req) {
			if err := s.SetPATScopes(req.ClientID, req.Granted); err != nil {
				fail(err)
			} else {
				ok(map[string]any{"clientId": strings.ToLower(req.ClientID), "granted": req.Granted})
			}
		}
	case "POST devicecodes/approve":
		var req struct{ UserCode, UPN string }
		if decode(&req) {
			if req.UPN == "" {
				req.UPN = s.User
			}
			if err := s.ApproveDeviceCode(req.UserCode, req.UPN); err != nil {
				fail(err)
			} else {
				ok(map[string]string{"approved": req.UserCode})
			}
		}
	case "GET pats":
		ok(s.PATs())
	case "POST pats/revoke":
		var req struct{ AuthorizationID string }
		if decode(&req) {
			if err := s.RevokePAT(req.AuthorizationID); err != nil {
				fail(err)
			} else {
				ok(map[string]string{"revoked": req.AuthorizationID})
			}
		}
	case "PUT orgs/{org}/policy":
		var req struct {
			DisablePATCreation bool     `json:"disablePatCreation"`
			RestrictFullScope  bool     `json:"restrictFullScope"`
			MaxLifespan        duration `json:"maxLifespan"`
		}
		if decode(&req) {
			p := Policy{DisablePATCreation: req.DisablePATCreation, RestrictFullScope: req.RestrictFullScope, MaxLifespan: time.Duration(req.MaxLifespan)}
			if err := s.SetPolicy(path, p); err != nil {
				fail(err)
			} else {
				ok(map[string]any{"org": path, "disablePatCreation": p.DisablePATCreation, "restrictFullScope": p.RestrictFullScope, "maxLifespan": p.MaxLifespan.String()})
			}
		}
	case "POST faults":
		var req struct {
			Endpoint, Kind    string
			Status, Count     int
			Code, Message     string
			RetryAfter, Delay duration
		}
		if decode(&req) {
			f := Fault{Endpoint: req.Endpoint, Kind: req.Kind, Status: req.Status, Code: req.Code, Message: req.Message, Count: req.Count,
				RetryAfter: time.Duration(req.RetryAfter), Delay: time.Duration(req.Delay)}
			if err := s.InjectFault(f); err != nil {
				fail(err)
			} else {
				ok(map[string]string{"injected": f.Kind + " on " + f.Endpoint})
			}
		}
	case "DELETE faults":
		s.ClearFaults()
		ok(map[string]string{"cleared": "faults"})
	case "GET counters":
		ok(s.Counters())
	case "GET clock":
		ok(map[string]string{"now": s.Now().Format(timeLayout)})
	case "POST clock/advance":
		var req struct{ Duration duration }
		if decode(&req) {
			if req.Duration < 0 {
				fail(errors.New("the clock only moves forward"))
			} else {
				s.Advance(time.Duration(req.Duration))
				ok(map[string]string{"now": s.Now().Format(timeLayout)})
			}
		}
	case "POST sessions/revoke":
		var req struct{ UPN string }
		if decode(&req) {
			if err := s.RevokeSessions(req.UPN); err != nil {
				fail(err)
			} else {
				ok(map[string]string{"revoked": req.UPN})
			}
		}
	case "POST sessions/challenge":
		var req struct{ UPN string }
		if decode(&req) {
			if err := s.ChallengeSessions(req.UPN); err != nil {
				fail(err)
			} else {
				ok(map[string]string{"challenged": req.UPN})
			}
		}
	case "POST signin-failures":
		var req struct {
			Who    string
			AADSTS int `json:"aadsts"`
		}
		if decode(&req) {
			if err := s.FailSignIns(req.Who, req.AADSTS); err != nil {
				fail(err)
			} else {
				ok(map[string]any{"who": req.Who, "aadsts": req.AADSTS})
			}
		}
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no control endpoint " + route})
	}
}
