package azdotest

import (
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
)

var (
	formActionRE = regexp.MustCompile(`<form method="POST"[^>]* action="([^"]*)"`)
	formInputRE  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)"`)
)

// FollowSignIn does what a browser does with an authorize URL when the emulator signs its user in
// at once (Options.AutoApprove): it loads the page and submits its form_post to the client's
// redirect URI, MSAL's loopback listener. client must trust the emulator's CA (Server.Client).
func FollowSignIn(client *http.Client, authURL string) error {
	resp, err := client.Get(authURL)
	if err != nil {
		return err
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	action, form, err := signInForm(page)
	if err != nil {
		return fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
	}
	post, err := client.PostForm(action, form)
	if err != nil {
		return err
	}
	return post.Body.Close()
}

// signInForm returns the action and hidden fields of the form on one of the emulator's sign-in
// pages: the sign-in form itself, or the form_post reply to the client's redirect URI.
func signInForm(page []byte) (action string, fields url.Values, err error) {
	m := formActionRE.FindSubmatch(page)
	if m == nil {
		return "", nil, errors.New("no form in the sign-in page")
	}
	fields = url.Values{}
	for _, h := range formInputRE.FindAllSubmatch(page, -1) {
		fields.Set(html.UnescapeString(string(h[1])), html.UnescapeString(string(h[2])))
	}
	return html.UnescapeString(string(m[1])), fields, nil
}
