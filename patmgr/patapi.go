package patmgr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"
)

const patAPIVersion = "7.1-preview.1"

// PAT is a personal access token as the PAT Lifecycle Management API describes it. Token is
// filled only in the answer to a create: the service never shows the secret again.
type PAT struct {
	AuthorizationID string    `json:"authorizationId"`
	DisplayName     string    `json:"displayName"`
	Scope           string    `json:"scope"`
	TargetAccounts  []string  `json:"targetAccounts"`
	Token           string    `json:"token,omitempty"`
	ValidFrom       time.Time `json:"validFrom"`
	ValidTo         time.Time `json:"validTo"`
}

// PATError is a refusal the service explains in patTokenError.
type PATError struct {
	Code    string // e.g. disablePatCreationPolicyViolation
	Message string
	Status  int
}

func (e *PATError) Error() string {
	msg := "Azure DevOps refused: " + e.Code
	if e.Message != "" {
		msg = fmt.Sprintf("Azure DevOps refused: %s (%s)", e.Message, e.Code)
	}
	if e.Code == policyUnread {
		msg += "; it could not read the organisation's PAT policies: try again in a few minutes"
	}
	return msg
}

// IsPolicy reports whether an organisation policy, not this request, forbids the PAT: then
// retrying or a new sign-in cannot help, and the helper falls back to the Entra token.
// policyUnread is not one: the service could not tell what the policy is, and a
// fallback would keep handing git the wider Entra token for a day on a passing failure.
func (e *PATError) IsPolicy() bool {
	switch e.Code {
	case "disablePatCreationPolicyViolation", "fullScopePatPolicyViolation", "globalPatPolicyViolation",
		"globalPATCreationBlocked", "patLifespanPolicyViolation":
		return true
	}
	return false
}

// policyUnread is the refusal of a service that could not read the organisation's policies.
const policyUnread = "failedToReadTenantPolicy"

// statusError is an error status that no patTokenError explains.
type statusError struct {
	status int
	host   string
}

func newStatusError(resp *http.Response) *statusError {
	return &statusError{status: resp.StatusCode, host: resp.Request.URL.Host}
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d from %s", e.status, e.host) }

// errNotAuthenticated covers the service's way of refusing a token: 401, or 203 with an HTML
// sign-in page instead of JSON.
var errNotAuthenticated = errors.New("Azure DevOps did not accept the sign-in")

// patClient talks to the PAT Lifecycle Management API with a delegated Entra access token.
type patClient struct {
	http *http.Client
	url  func(org string) string
}

type patEnvelope struct {
	PatToken             *PAT   `json:"patToken"`
	PatTokenError        string `json:"patTokenError"`
	PatTokenErrorMessage string `json:"patTokenErrorMessage"`
}

// formatValidTo writes the service's own timestamp shape (seven fraction digits, UTC).
func formatValidTo(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

func (c *patClient) create(ctx context.Context, org, bearer, name, scope string, validTo time.Time) (PAT, error) {
	body := map[string]any{"displayName": name, "scope": scope, "validTo": formatValidTo(validTo), "allOrgs": false}
	return c.one(ctx, http.MethodPost, org, bearer, nil, body)
}

func (c *patClient) renew(ctx context.Context, org, bearer, id string, validTo time.Time) (PAT, error) {
	body := map[string]any{"authorizationId": id, "validTo": formatValidTo(validTo)}
	return c.one(ctx, http.MethodPut, org, bearer, nil, body)
}

func (c *patClient) revoke(ctx context.Context, org, bearer, id string) error {
	resp, err := c.do(ctx, http.MethodDelete, org, bearer, url.Values{"authorizationId": {id}}, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	_, err = decodeEnvelope(resp)
	return err
}

// list returns every PAT of the signed-in user in org, following continuation tokens.
// filter is active, revoked, expired or all.
func (c *patClient) list(ctx context.Context, org, bearer, filter string) ([]PAT, error) {
	var all []PAT
	var continuation string
	for page := 0; ; page++ {
		if page > 1000 {
			return nil, fmt.Errorf("listing PATs of %s: the service kept paging; giving up", org)
		}
		q := url.Values{"displayFilterOption": {filter}, "sortByOption": {"displayDate"}, "isSortAscending": {"false"}, "$top": {"100"}}
		if continuation != "" {
			q.Set("continuationToken", continuation)
		}
		resp, err := c.do(ctx, http.MethodGet, org, bearer, q, nil)
		if err != nil {
			return nil, err
		}
		var out struct {
			ContinuationToken string `json:"continuationToken"`
			PatTokens         []PAT  `json:"patTokens"`
		}
		err = decodeJSON(resp, &out)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("listing PATs of %s: %w", org, err)
		}
		// An error status with a JSON body (a 503 or 429 after the retries ran out) decodes
		// into an empty page: it must not read as "no PATs", or a half-made PAT goes unnoticed.
		if resp.StatusCode/100 != 2 {
			return nil, fmt.Errorf("listing PATs of %s: %w", org, newStatusError(resp))
		}
		all = append(all, out.PatTokens...)
		if out.ContinuationToken == "" || out.ContinuationToken == continuation {
			return all, nil
		}
		continuation = out.ContinuationToken
	}
}

func (c *patClient) one(ctx context.Context, method, org, bearer string, q url.Values, body any) (PAT, error) {
	resp, err := c.do(ctx, method, org, bearer, q, body)
	if err != nil {
		return PAT{}, err
	}
	defer resp.Body.Close()
	return decodeEnvelope(resp)
}

func (c *patClient) do(ctx context.Context, method, org, bearer string, q url.Values, body any) (*http.Response, error) {
	if q == nil {
		q = url.Values{}
	}
	q.Set("api-version", patAPIVersion)
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	req, err := http.NewRequestWithContext(ctx, method, c.url(org)+"?"+q.Encode(), rd)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("calling the PAT API of %s: %w", org, err)
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

func decodeEnvelope(resp *http.Response) (PAT, error) {
	var env patEnvelope
	if err := decodeJSON(resp, &env); err != nil {
		return PAT{}, err
	}
	if env.PatTokenError != "" && env.PatTokenError != "none" {
		return PAT{}, &PATError{Code: env.PatTokenError, Message: env.PatTokenErrorMessage, Status: resp.StatusCode}
	}
	if resp.StatusCode/100 != 2 {
		return PAT{}, newStatusError(resp)
	}
	if env.PatToken == nil || env.PatToken.AuthorizationID == "" {
		return PAT{}, errors.New("the PAT API answered without a token")
	}
	return *env.PatToken, nil
}

// maxBody bounds what we read from a server: a PAT list page is a few tens of kilobytes.
const maxBody = 4 << 20

// decodeJSON reads a JSON answer, treating the service's sign-in page (203, HTML) and 401 as
// errNotAuthenticated, and an error status without JSON as a plain HTTP error.
func decodeJSON(resp *http.Response, v any) error {
	if claims := claimsFromChallenges(resp.Header.Values("WWW-Authenticate")); resp.StatusCode == http.StatusUnauthorized && claims != "" {
		return &claimsError{claims: claims}
	}
	if resp.StatusCode == http.StatusNonAuthoritativeInfo || resp.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("%w (HTTP %d)", errNotAuthenticated, resp.StatusCode)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "application/json" {
		if resp.StatusCode/100 == 2 {
			return fmt.Errorf("%w (HTTP %d with %q instead of JSON)", errNotAuthenticated, resp.StatusCode, mt)
		}
		return newStatusError(resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("reading the answer from %s: %w", resp.Request.URL.Host, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		if resp.StatusCode/100 != 2 {
			return newStatusError(resp)
		}
		return fmt.Errorf("unreadable answer from %s (HTTP %d): %w", resp.Request.URL.Host, resp.StatusCode, err)
	}
	return nil
}
