package azdo

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

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/redact"
)

// patAPIVersion is the version whose spec lists every refusal the service sends today; its routes
// and bodies are 7.1's.
const patAPIVersion = "7.2-preview.1"

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
}

func (e *PATError) Error() string {
	msg := "Azure DevOps refused: " + e.Code
	if e.Message != "" {
		msg = fmt.Sprintf("Azure DevOps refused: %s (%s)", e.Message, e.Code)
	}
	switch {
	case e.kind() == refusalPassing:
		msg += "; the service could not do it just now: try again in a few minutes"
	case e.Code == "invalidScope":
		msg += "; check --scope"
	case e.Code == "fullScopePatPolicyViolation":
		msg += "; the organisation forbids full-access PATs: choose narrower scopes with --scope (e.g. vso.code_write)"
	case e.Code == "patLifespanPolicyViolation":
		msg += "; the organisation limits how long a PAT may live: lower --lifetime"
	}
	return msg
}

// refusalKind sorts the patTokenError codes of the 7.2 spec by what the helper does about them.
type refusalKind int

const (
	refusalRequest refusalKind = iota // this request was wrong: fail it, change nothing
	refusalPolicy                     // an organisation policy forbids the PAT: fall back to the Entra token
	refusalClient                     // the PAT API will not serve this sign-in: fall back, suggest an app
	refusalPassing                    // the service failed for now: fail this get, remember nothing
	refusalGone                       // the PAT is not there or cannot be extended: replace it
)

// refusals holds every patTokenError of the 7.2 spec, globalPATCreationBlocked and
// expiredPatCannotBeExtended included. An unknown code is a request refusal: it fails the get
// without changing anything.
var refusals = map[string]refusalKind{
	"displayNameRequired": refusalRequest, "invalidDisplayName": refusalRequest, "invalidValidTo": refusalRequest,
	"invalidScope": refusalRequest, "userIdRequired": refusalRequest, "invalidUserId": refusalRequest,
	"invalidTargetAccounts": refusalRequest, "sourceNotSupported": refusalRequest, "invalidSourceIP": refusalRequest,
	"invalidSource": refusalRequest, "duplicateHash": refusalRequest, "sshPolicyDisabled": refusalRequest,
	"invalidToken": refusalRequest, "deploymentHostNotSupported": refusalRequest,
	// Policies that settings can satisfy: the user is told which, rather than handed the Entra
	// token, which is wider than the PAT the organisation just refused.
	"fullScopePatPolicyViolation": refusalRequest, "patLifespanPolicyViolation": refusalRequest,

	"disablePatCreationPolicyViolation": refusalPolicy, "globalPatPolicyViolation": refusalPolicy,
	"globalPATCreationBlocked": refusalPolicy,

	"accessDenied": refusalClient, "invalidUserType": refusalClient, "invalidClient": refusalClient,
	"invalidClientType": refusalClient, "invalidClientId": refusalClient, "invalidTokenType": refusalClient,
	"invalidAudience": refusalClient, "invalidSubject": refusalClient,

	"failedToReadTenantPolicy": refusalPassing, "failedToReadOrgPolicy": refusalPassing,
	"failedToIssueAccessToken": refusalPassing, "failedToUpdateAccessToken": refusalPassing,

	"authorizationNotFound": refusalGone, "hostAuthorizationNotFound": refusalGone, "tokenNotFound": refusalGone,
	"invalidAuthorizationId": refusalGone, "expiredPatCannotBeExtended": refusalGone,
}

func (e *PATError) kind() refusalKind { return refusals[e.Code] }

// IsGone reports whether the PAT is not there or cannot be extended: it must be replaced.
func (e *PATError) IsGone() bool { return e.kind() == refusalGone }

// IsPolicy reports whether an organisation policy, not this request, forbids the PAT: then
// retrying or a new sign-in cannot help, and the helper falls back to the Entra token.
// A policy the service could not read is not one: a fallback would keep handing git the wider
// Entra token for a day on a passing failure.
func (e *PATError) IsPolicy() bool { return e.kind() == refusalPolicy }

// statusError is an error status that no patTokenError explains.
type statusError struct {
	status int
	host   string
}

func newStatusError(resp *http.Response) *statusError {
	return &statusError{status: resp.StatusCode, host: resp.Request.URL.Host}
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d from %s", e.status, e.host) }

// errNotAuthenticated covers the service's ways of refusing a token: 401, 203 with an HTML
// sign-in page instead of JSON, or a redirect to its sign-in page.
var errNotAuthenticated = errors.New("Azure DevOps did not accept the sign-in")

// TokenRefused reports whether Azure DevOps refused the token itself (any of the service's shapes
// of "not accepted", a 403, or a refusal of the client) rather than the request.
func TokenRefused(err error) bool {
	var serr *statusError
	var perr *PATError
	return errors.Is(err, errNotAuthenticated) || errors.As(err, &serr) && serr.status == http.StatusForbidden ||
		errors.As(err, &perr) && perr.kind() == refusalClient
}

// Refused reports whether the service refused a request, and so did nothing: a patTokenError, a
// refused token, or a 4xx (the client already waited out 429s). A 408 may come from a gateway
// after the service acted, so it is not one.
func Refused(err error) bool {
	var perr *PATError
	var serr *statusError
	return errors.As(err, &perr) || TokenRefused(err) ||
		errors.As(err, &serr) && serr.status < 500 && serr.status != http.StatusRequestTimeout
}

// formatValidTo writes the service's own timestamp shape (seven fraction digits, UTC).
func formatValidTo(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// CreatePAT makes a PAT in org with the signed-in user's delegated Entra access token, bearer.
func (c *Client) CreatePAT(ctx context.Context, org, bearer, name, scope string, validTo time.Time) (PAT, error) {
	body := map[string]any{"displayName": name, "scope": scope, "validTo": formatValidTo(validTo), "allOrgs": false}
	return c.pat(ctx, http.MethodPost, org, bearer, url.Values{}, body)
}

// RenewPAT extends the PAT id to validTo.
func (c *Client) RenewPAT(ctx context.Context, org, bearer, id string, validTo time.Time) (PAT, error) {
	body := map[string]any{"authorizationId": id, "validTo": formatValidTo(validTo)}
	return c.pat(ctx, http.MethodPut, org, bearer, url.Values{}, body)
}

// RevokePAT revokes the PAT id.
func (c *Client) RevokePAT(ctx context.Context, org, bearer, id string) error {
	_, err := c.pat(ctx, http.MethodDelete, org, bearer, url.Values{"authorizationId": {id}}, nil)
	return err
}

// ListPATs returns every PAT of the signed-in user in org, following continuation tokens.
// filter is active, revoked, expired or all.
func (c *Client) ListPATs(ctx context.Context, org, bearer, filter string) ([]PAT, error) {
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
		var out struct {
			ContinuationToken string `json:"continuationToken"`
			PatTokens         *[]PAT `json:"patTokens"`
		}
		if err := c.getJSON(ctx, c.patURL(org, q), bearer, &out); err != nil {
			return nil, fmt.Errorf("listing PATs of %s: %w", org, err)
		}
		// An answer without patTokens (or with null) is not an empty list: read as one, it would
		// hide a half-made PAT and let a second one be made.
		if out.PatTokens == nil {
			return nil, fmt.Errorf("listing PATs of %s: unexpected answer from the PAT API: no patTokens", org)
		}
		all = append(all, *out.PatTokens...)
		if out.ContinuationToken == "" || out.ContinuationToken == continuation {
			return all, nil
		}
		continuation = out.ContinuationToken
	}
}

// patURL is the address of the PAT API of org with the query q.
func (c *Client) patURL(org string, q url.Values) string {
	q.Set("api-version", patAPIVersion)
	return c.cfg.PATURL(org) + "?" + q.Encode()
}

type patEnvelope struct {
	PatToken             *PAT   `json:"patToken"`
	PatTokenError        string `json:"patTokenError"`
	PatTokenErrorMessage string `json:"patTokenErrorMessage"`
}

// refusal is the PATError the envelope carries, or nil ("none" is the service's word for none).
func (e patEnvelope) refusal() error {
	if e.PatTokenError == "" || e.PatTokenError == "none" {
		return nil
	}
	return &PATError{Code: e.PatTokenError, Message: e.PatTokenErrorMessage}
}

// pat sends one request to the PAT API of org and returns the PAT the answer carries; the
// answer to a revocation carries none.
func (c *Client) pat(ctx context.Context, method, org, bearer string, q url.Values, body any) (PAT, error) {
	resp, err := c.send(ctx, method, c.patURL(org, q), bearer, body)
	if err != nil {
		return PAT{}, fmt.Errorf("calling the PAT API of %s: %w", org, err)
	}
	defer resp.Body.Close()
	var env patEnvelope
	if method == http.MethodDelete && (resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent) {
		// A revocation answers with no body, but a refusal may come with 200 too (FACTS: whether
		// its status is also an error is not documented).
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		if json.Unmarshal(b, &env) != nil {
			return PAT{}, nil
		}
		return PAT{}, env.refusal()
	}
	if err := decodeJSON(resp, &env); err != nil {
		return PAT{}, err
	}
	if err := env.refusal(); err != nil {
		return PAT{}, err
	}
	if resp.StatusCode/100 != 2 {
		return PAT{}, newStatusError(resp)
	}
	if env.PatToken == nil || env.PatToken.AuthorizationID == "" {
		return PAT{}, errors.New("the PAT API answered without a token")
	}
	redact.Hide(env.PatToken.Token) // a create's or renewal's new secret
	return *env.PatToken, nil
}

// send sends a request with bearer's token and, if not nil, body as JSON, under its own
// RequestTimeout, which closing the answer's body ends.
func (c *Client) send(ctx context.Context, method, u, bearer string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	suppressSignInRedirect(req)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Send(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	defer c.cancel()
	return c.ReadCloser.Close()
}

// maxBody bounds what we read from a server: a PAT list page is a few tens of kilobytes.
const maxBody = 4 << 20

// decodeJSON reads a JSON answer, whatever its status, treating the service's refusals of a token
// as errNotAuthenticated, and an error status without JSON as a plain HTTP error.
func decodeJSON(resp *http.Response, v any) error {
	if claims := ClaimsFromChallenges(resp.Header.Values("WWW-Authenticate")); resp.StatusCode == http.StatusUnauthorized && claims != "" {
		return &claimsError{claims: claims}
	}
	// The client follows no redirect, so a 3xx arrives here with the token still at home.
	if s := resp.StatusCode; s == http.StatusUnauthorized || s == http.StatusNonAuthoritativeInfo || s/100 == 3 {
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

// Org is an Azure DevOps organisation the signed-in user belongs to.
type Org struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	URL  string `json:"url"`
}

// Orgs lists the organisations of the user whose token bearer is, through the profile and
// accounts APIs.
func (c *Client) Orgs(ctx context.Context, bearer string) ([]Org, error) {
	var profile struct {
		ID string `json:"id"`
	}
	if err := c.getJSON(ctx, c.cfg.ProfileURL()+"/profile/profiles/me?api-version=7.1", bearer, &profile); err != nil {
		return nil, fmt.Errorf("reading your profile: %w", err)
	}
	var accounts struct {
		Value []struct {
			AccountID   string `json:"accountId"`
			AccountName string `json:"accountName"`
			AccountURI  string `json:"accountUri"`
		} `json:"value"`
	}
	u := c.cfg.ProfileURL() + "/accounts?api-version=7.1&memberId=" + url.QueryEscape(profile.ID)
	if err := c.getJSON(ctx, u, bearer, &accounts); err != nil {
		return nil, fmt.Errorf("listing your organisations: %w", err)
	}
	out := make([]Org, 0, len(accounts.Value))
	for _, a := range accounts.Value {
		out = append(out, Org{Name: a.AccountName, ID: a.AccountID, URL: a.AccountURI})
	}
	return out, nil
}

// getJSON reads the JSON answer to a GET of u into v. An error status is an error even with a
// JSON body: a list page of a 503 after the retries ran out must not read as "no PATs", or a
// half-made PAT goes unnoticed.
func (c *Client) getJSON(ctx context.Context, u, bearer string, v any) error {
	resp, err := c.send(ctx, http.MethodGet, u, bearer, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := decodeJSON(resp, v); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return newStatusError(resp)
	}
	return nil
}
