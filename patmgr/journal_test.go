package patmgr

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdo"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/config"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/store"
	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// fakePATs is a PAT API whose answers a test can spoil one endpoint at a time.
type fakePATs struct {
	mu      sync.Mutex
	pats    map[string]*azdo.PAT
	revoked map[string]bool
	next    int
	// listStatus, when not 0, answers every list with that status and a JSON error body.
	listStatus int
	// truncateCreates answers that many creates with half a body (the PAT is made).
	truncateCreates int
}

func (f *fakePATs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch r.Method {
	case http.MethodGet:
		if f.listStatus != 0 {
			w.WriteHeader(f.listStatus)
			w.Write([]byte(`{"message":"try later"}`))
			return
		}
		var out []azdo.PAT
		for id, p := range f.pats {
			if !f.revoked[id] {
				out = append(out, *p)
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"patTokens": out, "continuationToken": ""})
	case http.MethodPost:
		var body struct{ DisplayName, Scope, ValidTo string }
		json.NewDecoder(r.Body).Decode(&body)
		f.next++
		id := "00000000-0000-0000-0000-00000000000" + string(rune('0'+f.next))
		p := &azdo.PAT{AuthorizationID: id, DisplayName: body.DisplayName, Scope: body.Scope, Token: "secret-" + id, ValidTo: time.Now().Add(time.Hour)}
		f.pats[id] = p
		b, _ := json.Marshal(map[string]any{"patToken": p, "patTokenError": "none"})
		if f.truncateCreates > 0 {
			f.truncateCreates--
			b = b[:len(b)/2]
		}
		w.Write(b)
	case http.MethodDelete:
		f.revoked[r.URL.Query().Get("authorizationId")] = true
		w.WriteHeader(http.StatusNoContent)
	}
}

func (f *fakePATs) active() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.pats) - len(f.revoked)
}

func newFakeManager(t *testing.T) (*Manager, *fakePATs) {
	t.Helper()
	f := &fakePATs{pats: map[string]*azdo.PAT{}, revoked: map[string]bool{}}
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	cfg := config.Defaults()
	cfg.StateDir = testenv.TempDir(t)
	cfg.ServiceURL, cfg.CAFile = srv.URL, filepath.Join(cfg.StateDir, "ca.pem")
	if err := os.WriteFile(cfg.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &Manager{cfg: cfg, now: time.Now}
	az, err := azdo.NewClient(&m.cfg, http.ProxyFromEnvironment, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.az = az
	return m, f
}

// A create whose answer is lost and whose check fails too is settled by the next run.
func TestUnsettledCreateIsRevokedByTheNextRun(t *testing.T) {
	m, f := newFakeManager(t)
	ctx := context.Background()
	key := cache.Key("dev.azure.com", "contoso", "")
	f.truncateCreates, f.listStatus = 1, http.StatusServiceUnavailable
	if _, err := m.mint(ctx, key, "contoso", "bearer"); err == nil || !strings.Contains(err.Error(), "next run") {
		t.Fatalf("mint with a lost answer and a failing list: err = %v", err)
	}
	if f.active() != 1 || len(m.pending(key).mustNames(t)) != 1 {
		t.Fatalf("want the half-made PAT active and noted: active %d, pending %v", f.active(), m.pending(key).mustNames(t))
	}

	// Next run: the list works again. The sweep revokes the orphan, then one PAT is made.
	f.listStatus = 0
	m.sweepPending(ctx, key, "contoso", "bearer", nil)
	pat, err := m.mint(ctx, key, "contoso", "bearer")
	if err != nil {
		t.Fatal(err)
	}
	m.pending(key).remove(pat.DisplayName)
	if f.active() != 1 || len(m.pending(key).mustNames(t)) != 0 {
		t.Fatalf("want exactly the new PAT active and nothing pending: active %d, pending %v", f.active(), m.pending(key).mustNames(t))
	}
}

// A run killed after saving its PAT but before crossing its name out must not lose that PAT to
// the next run's sweep.
func TestSweepSparesTheStoredPAT(t *testing.T) {
	m, f := newFakeManager(t)
	ctx := context.Background()
	key := cache.Key("dev.azure.com", "contoso", "")
	pat, err := m.mint(ctx, key, "contoso", "bearer") // name stays pending: nobody saved it
	if err != nil {
		t.Fatal(err)
	}
	m.sweepPending(ctx, key, "contoso", "bearer", &cache.Record{AuthorizationID: pat.AuthorizationID})
	if f.active() != 1 || len(m.pending(key).mustNames(t)) != 0 {
		t.Fatalf("the stored PAT was swept: active %d, pending %v", f.active(), m.pending(key).mustNames(t))
	}
}

func (p pendingCreates) mustNames(t *testing.T) map[string]bool {
	t.Helper()
	names, err := p.names()
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// A journal that cannot be read stops a create instead of passing for an empty one, with its
// own error (waiting would not mend it), and a crossing-out leaves it as it is.
func TestUnreadableJournalBlocksACreate(t *testing.T) {
	m, f := newFakeManager(t)
	key := cache.Key("dev.azure.com", "contoso", "")
	p := m.pending(key)
	if err := os.MkdirAll(filepath.Dir(p.path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := store.WriteFileAtomic(p.path, []byte("not json")); err != nil {
		t.Fatal(err)
	}
	_, err := m.settleAndMint(context.Background(), key, "contoso", "bearer", nil)
	if err == nil || !strings.Contains(err.Error(), p.path) || strings.Contains(err.Error(), "try again") {
		t.Fatalf("create over a corrupt journal: %v; want the journal's error, naming the file", err)
	}
	if f.next != 0 {
		t.Fatalf("%d PATs made over a corrupt journal", f.next)
	}
	if err := p.add(DisplayNamePrefix + " x (0123abcd)"); err == nil {
		t.Fatal("add over a corrupt journal succeeded, dropping what it held")
	}
	p.remove(DisplayNamePrefix + " x (0123abcd)")
	if b, err := os.ReadFile(p.path); err != nil || string(b) != "not json" {
		t.Fatalf("remove changed the unreadable journal: %q, %v", b, err)
	}
}

// A create whose name cannot be noted is not made: were its answer lost, nothing would lead the
// next run to the PAT.
func TestUnwritableJournalBlocksACreate(t *testing.T) {
	testenv.SkipOnWindows(t, "symbolic links")
	m, f := newFakeManager(t)
	key := cache.Key("dev.azure.com", "contoso", "")
	p := m.pending(key)
	// A dangling link where the journal's directory goes: reads find no journal, writes fail.
	if err := os.Symlink(filepath.Join(testenv.TempDir(t), "gone"), filepath.Dir(p.path)); err != nil {
		t.Fatal(err)
	}
	_, err := m.settleAndMint(context.Background(), key, "contoso", "bearer", nil)
	if err == nil || !strings.Contains(err.Error(), "noting the PAT about to be created for contoso") {
		t.Fatalf("create with an unwritable journal: %v; want an error saying the name could not be noted", err)
	}
	if f.next != 0 {
		t.Fatalf("%d PATs made with an unwritable journal", f.next)
	}
}
