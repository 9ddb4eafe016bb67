package azdo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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

// A list answered with 200 but without patTokens (a refusal, or anything else) must be an error,
// not an empty list: otherwise a half-made PAT is never found and a second one is made.
func TestListWithoutPatTokensIsNotAnEmptyList(t *testing.T) {
	for body, want := range map[string]string{
		`{"patTokens":[],"continuationToken":""}`:                                                         "",
		`{"patToken":null,"patTokenError":"failedToReadTenantPolicy","patTokenErrorMessage":"try later"}`: "unexpected answer from the PAT API: no patTokens",
		`{"continuationToken":""}`:                                                                        "unexpected answer from the PAT API: no patTokens",
		`{"patTokens":null,"continuationToken":""}`:                                                       "unexpected answer from the PAT API: no patTokens",
		`{"patTokens":{"authorizationId":"x"}}`:                                                           "unreadable answer from 127.0.0.1",
	} {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		pats, err := clientTrusting(t, srv).ListPATs(context.Background(), "contoso", "bearer", "active")
		switch {
		case want == "" && (err != nil || len(pats) != 0):
			t.Errorf("%s: got %v, %v; want an empty list", body, pats, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: got %v, %v; want an error with %q", body, pats, err, want)
		}
	}
}

// A connection dropped at every attempt is said as the host and the cause, as a failed sign-in
// is, without the request's URL and query string.
func TestDroppedConnectionNamesTheHost(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // must not expire
	defer cancel()
	_, err := clientTrusting(t, srv).ListPATs(ctx, "contoso", "bearer", "active")
	host := strings.TrimPrefix(srv.URL, "https://")
	want := "listing PATs of contoso: cannot reach " + host + ": the connection closed before an answer came"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("the cause is lost: %#v", err)
	}
}
