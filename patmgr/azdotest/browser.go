package azdotest

import (
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
	action := formActionRE.FindSubmatch(page)
	if action == nil {
		return fmt.Errorf("no form in the sign-in page (HTTP %d)", resp.StatusCode)
	}
	form := url.Values{}
	for _, m := range formInputRE.FindAllSubmatch(page, -1) {
		form.Set(html.UnescapeString(string(m[1])), html.UnescapeString(string(m[2])))
	}
	post, err := client.PostForm(html.UnescapeString(string(action[1])), form)
	if err != nil {
		return err
	}
	return post.Body.Close()
}
