// Package azdotest is a local emulator of Entra ID and Azure DevOps for
// tests, in the style of net/http/httptest: NewServer starts an HTTPS server
// on loopback with a CA of its own, serving the Entra ID v2 endpoints MSAL Go
// uses, the Azure DevOps organisation endpoint, the PAT lifecycle API, the
// profile and accounts APIs, git smart HTTP over real bare repositories, and
// a control API under /_emulator/. See README.md for the HTTP surface.
package azdotest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Well-known identifiers.
const (
	// DefaultClientID is the Visual Studio public client most Azure DevOps
	// tools sign in with; it is always registered.
	DefaultClientID = "872cd9fa-d31f-45e0-9eab-6e460a02d1f1"
	// ResourceID is Azure DevOps' application id, the audience of its tokens.
	ResourceID = "499b84ac-1321-427f-aa17-267ca6975798"
	// GraphResourceID is Microsoft Graph, useful to mint wrong-audience tokens.
	GraphResourceID = "00000003-0000-0000-c000-000000000000"
	// APIVersion is the newest api-version the PAT lifecycle API accepts; APIVersion71 is the
	// other one.
	APIVersion = APIVersion72
)

// Options configure a Server. The zero value is usable.
type Options struct {
	Dir         string                           // state dir (repos, ca.pem, gitconfig); "" = temp dir removed by Close
	Addr        string                           // "" = "127.0.0.1:0"
	AutoApprove bool                             // device codes approve themselves for the default user; authorize signs the default user in without a page
	Logf        func(format string, args ...any) // optional request log; never logs secrets

	// AccessTokenLifetime is the expires_in of access tokens (default 1h).
	// MSAL refreshes tokens that expire within 5 minutes, so a lifetime
	// under 5 minutes makes every AcquireTokenSilent use the refresh token.
	AccessTokenLifetime time.Duration
	// ClientIDs are extra public client ids to accept besides DefaultClientID.
	ClientIDs []string
	// ConfidentialClients maps client ids to secrets for client_credentials.
	ConfidentialClients map[string]string
}

// Server is a running emulator. Its exported fields describe the default
// directory created at start and must not be modified.
type Server struct {
	URL       string // "https://127.0.0.1:PORT": Entra, Azure DevOps, PAT API, git and control API
	CAFile    string // PEM of the CA, in Dir
	TenantID  string // default tenant (GUID)
	Org       string // default org: "contoso"
	Project   string // "demo"
	Repo      string // "demo" (bare repo seeded with one commit on main)
	User      string // default user UPN "alice@contoso.example"
	Password  string // default user's password (random per server)
	RepoURL   string // URL + "/contoso/demo/_git/demo"
	GitConfig string // git config file to include: CA for the server URL and the helper line
	Dir       string // state dir

	opts      Options
	ca        *authority
	http      *http.Server
	listener  net.Listener
	served    chan struct{}
	removeDir bool
	atLife    time.Duration
	signKey   []byte // HMAC key of the tokens' signatures
	gitPath   string

	clock    clock
	mu       sync.Mutex
	st       state
	faults   []*Fault
	counters Counters
	counted  chan struct{} // closed, and replaced, at every request counted: WaitFor's wake-up

	closeOnce sync.Once
	logMu     sync.RWMutex // Close takes it to stop logging: a test's t.Logf panics after the test
	logOff    bool
}

// NewServer starts a server with a default tenant, organisation "contoso",
// project and repository "demo" (one commit on main) and user
// alice@contoso.example.
func NewServer(opts Options) (_ *Server, err error) {
	s := &Server{
		opts:     opts,
		st:       newState(),
		served:   make(chan struct{}),
		signKey:  randomBytes(32),
		atLife:   opts.AccessTokenLifetime,
		counters: Counters{Requests: map[string]int{}, Grants: map[string]int{}},
		counted:  make(chan struct{}),
	}
	if s.atLife <= 0 {
		s.atLife = time.Hour
	}
	// git is looked up once, here: http-backend and repository seeding need it.
	if s.gitPath, err = exec.LookPath("git"); err != nil {
		return nil, fmt.Errorf("the emulator needs git: %w", err)
	}
	if err := s.prepareDir(); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.ca, err = newAuthority(); err != nil {
		return nil, err
	}
	s.CAFile = filepath.Join(s.Dir, "ca.pem")
	if err := os.WriteFile(s.CAFile, s.ca.certPEM, 0o644); err != nil {
		return nil, err
	}
	leaf, err := s.ca.leaf()
	if err != nil {
		return nil, err
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s.listener = ln
	s.URL = "https://" + hostPort(ln.Addr().(*net.TCPAddr))

	if err := s.seed(); err != nil {
		return nil, err
	}
	if err := s.writeGitConfig(); err != nil {
		return nil, err
	}

	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		// HTTP/1.1 only: the drop fault hijacks connections, which HTTP/2
		// does not allow, and git's http-backend streams fine over 1.1.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		TLSConfig:    &tls.Config{Certificates: []tls.Certificate{leaf}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12},
		ErrorLog:     log.New(logWriter{s}, "", 0),
	}
	go func() {
		defer close(s.served)
		if err := s.http.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logf("serve: %v", err)
		}
	}()
	return s, nil
}

func hostPort(a *net.TCPAddr) string {
	if a.IP.To4() == nil {
		return fmt.Sprintf("[%s]:%d", a.IP, a.Port)
	}
	return fmt.Sprintf("%s:%d", a.IP, a.Port)
}

func (s *Server) prepareDir() error {
	if s.opts.Dir == "" {
		d, err := os.MkdirTemp("", "azdo-emulator-")
		if err != nil {
			return err
		}
		s.Dir, s.removeDir = d, true
		return nil
	}
	d, err := filepath.Abs(s.opts.Dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d, 0o700); err != nil {
		return err
	}
	s.Dir = d
	return nil
}

// seed creates the default directory, organisation, user and repository.
func (s *Server) seed() error {
	for _, id := range s.opts.ClientIDs {
		if err := s.AddClient(id, ""); err != nil {
			return err
		}
	}
	for id, secret := range s.opts.ConfidentialClients {
		if secret == "" {
			return fmt.Errorf("confidential client %s needs a secret", id)
		}
		if err := s.AddClient(id, secret); err != nil {
			return err
		}
	}
	if err := s.AddClient(DefaultClientID, ""); err != nil {
		return err
	}
	tid, err := s.AddTenant("", "contoso.example")
	if err != nil {
		return err
	}
	s.TenantID, s.Org, s.Project, s.Repo = tid, "contoso", "demo", "demo"
	s.User, s.Password = "alice@contoso.example", "pw-"+randomToken(12)
	if err := s.AddOrg(s.Org, tid); err != nil {
		return err
	}
	if err := s.AddUser(s.User, s.Password, tid, s.Org); err != nil {
		return err
	}
	if err := s.AddRepo(s.Org, s.Project, s.Repo); err != nil {
		return err
	}
	s.RepoURL = s.URL + "/" + s.Org + "/" + s.Project + "/_git/" + s.Repo
	return nil
}

// writeGitConfig writes the file users include to make git trust the CA for
// this server and send its credentials to the azdo helper.
func (s *Server) writeGitConfig() error {
	s.GitConfig = filepath.Join(s.Dir, "gitconfig")
	cfg := fmt.Sprintf("[http %q]\n\tsslCAInfo = %s\n[credential %q]\n\tuseHttpPath = true\n\thelper =\n\thelper = azdo --service-url=%s --authority=%s --ca-file=%s\n",
		s.URL+"/", s.CAFile, s.URL, s.URL, s.URL, s.CAFile)
	return os.WriteFile(s.GitConfig, []byte(cfg), 0o644)
}

// CertPool returns a pool holding the server's CA.
func (s *Server) CertPool() *x509.CertPool { return s.ca.pool() }

// Client returns a new HTTP client that trusts the server's CA (and only it).
func (s *Server) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}
}

// Close stops the server and, when it made the state dir itself, removes it.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.logMu.Lock()
		s.logOff = true
		s.logMu.Unlock()
		if s.http != nil {
			_ = s.http.Close()
			<-s.served
		} else if s.listener != nil {
			_ = s.listener.Close()
		}
		if s.removeDir {
			_ = os.RemoveAll(s.Dir)
		}
	})
}

func (s *Server) logf(format string, args ...any) {
	s.logMu.RLock()
	defer s.logMu.RUnlock()
	if s.opts.Logf != nil && !s.logOff {
		s.opts.Logf(format, args...)
	}
}

// ServeHTTP routes a request to its endpoint through the instrumenting
// middleware.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, h := s.route(r)
	s.logf("%s %s -> %s", r.Method, r.URL.Path, name)
	if name == "control" || name == "" {
		h.ServeHTTP(w, r)
		return
	}
	s.instrument(name, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.serveClaimsChallenge(name, w, r) {
			h.ServeHTTP(w, r)
		}
	})).ServeHTTP(w, r)
}

// route maps a request to an endpoint name and handler. Paths are matched
// case-insensitively where the real services are case-insensitive.
func (s *Server) route(r *http.Request) (string, http.Handler) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	lower := strings.ToLower(path)
	switch {
	case strings.HasPrefix(lower, "/_emulator/") || lower == "/_emulator":
		return "control", http.HandlerFunc(s.serveControl)
	case lower == "/common/discovery/instance":
		return "instance-discovery", http.HandlerFunc(s.serveInstanceDiscovery)
	case len(segs) == 3 && strings.EqualFold(segs[0], "common") && strings.EqualFold(segs[1], "userrealm"):
		return "userrealm", http.HandlerFunc(s.serveUserRealm)
	case lower == "/devicelogin":
		return "devicelogin", http.HandlerFunc(s.serveDeviceLogin)
	case lower == "/_signin":
		return "signin", http.HandlerFunc(s.serveSignIn)
	case lower == "/_apis/profile/profiles/me":
		return "profile", http.HandlerFunc(s.serveProfile)
	case lower == "/_apis/accounts":
		return "accounts", http.HandlerFunc(s.serveAccounts)
	case len(segs) == 4 && strings.EqualFold(segs[1], "v2.0") && strings.EqualFold(segs[2], ".well-known") && strings.EqualFold(segs[3], "openid-configuration"):
		return "openid-configuration", http.HandlerFunc(s.serveOpenIDConfiguration)
	case len(segs) == 4 && strings.EqualFold(segs[1], "oauth2") && strings.EqualFold(segs[2], "v2.0"):
		switch strings.ToLower(segs[3]) {
		case "authorize":
			return "authorize", http.HandlerFunc(s.serveAuthorize)
		case "token":
			return "token", http.HandlerFunc(s.serveToken)
		case "devicecode":
			return "devicecode", http.HandlerFunc(s.serveDeviceCode)
		}
	case len(segs) == 4 && strings.EqualFold(segs[1], "_apis") && strings.EqualFold(segs[2], "tokens") && strings.EqualFold(segs[3], "pats"):
		return patEndpoint(r), http.HandlerFunc(s.servePATs)
	case len(segs) >= 4 && segs[2] == "_git":
		return "git", http.HandlerFunc(s.serveGit)
	case len(segs) == 1 && segs[0] != "" && !strings.HasPrefix(segs[0], "_"):
		return "org", http.HandlerFunc(s.serveOrg)
	}
	return "", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "no such endpoint on the emulator: " + r.URL.Path})
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
