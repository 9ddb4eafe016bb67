package azdo

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A list answered with an error status and a JSON body must be an error, not an empty list:
// otherwise a half-made PAT is never found.
func TestListErrorStatusIsNotAnEmptyList(t *testing.T) {
	for _, status := range []int{http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable} {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(`{"message":"try later"}`))
		}))
		t.Cleanup(srv.Close)
		if pats, err := clientTrusting(t, srv).ListPATs(context.Background(), "contoso", "bearer", "active"); err == nil {
			t.Errorf("HTTP %d: list returned %v and no error", status, pats)
		}
	}
}
