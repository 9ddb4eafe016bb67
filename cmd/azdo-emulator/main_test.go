package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/testenv"
)

// passwordField is the password in the ready line, a JSON string: to its closing quote, or to
// the end of a line cut short.
var passwordField = regexp.MustCompile(`"password"\s*:\s*"(?:[^"\\]|\\.)*"?`)

func TestBinary(t *testing.T) {
	testenv.SkipOnWindows(t, "Unix signals")
	git := testenv.NeedTool(t, "git", "the emulator serves its repositories with git http-backend")
	tmp := testenv.TempDir(t)
	bin := filepath.Join(tmp, "azdo-emulator")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := filepath.Join(tmp, "state", "nested")
	cmd := exec.Command(bin, "-dir", dir, "-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Stdout is drained before Wait, as os/exec requires, by a goroutine started at once, so that
	// whatever ends the test (a crash before the ready line too) the cleanup can kill the
	// emulator and wait for it. Anything after the ready line is a bug.
	ready := make(chan []byte, 1)
	exited := make(chan struct{})
	var rest []byte
	var exitErr error
	go func() {
		out := bufio.NewReader(stdout)
		line, _ := out.ReadBytes('\n')
		ready <- bytes.TrimSuffix(line, []byte("\n"))
		rest, _ = io.ReadAll(out)
		exitErr = cmd.Wait()
		close(exited)
	}()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
	}()

	var line []byte
	select {
	case line = <-ready:
	case <-time.After(time.Minute): // a hang, not a slow machine
	}
	if len(line) == 0 {
		_ = cmd.Process.Kill()
		<-exited // stderr is complete, and no longer written
		t.Fatalf("no ready line: %v; stderr:\n%s", exitErr, stderr.String())
	}
	// Messages show the ready line without the emulator user's password.
	shown := passwordField.ReplaceAll(line, []byte(`"password":"[hidden]"`))
	var info map[string]string
	if err := json.Unmarshal(line, &info); err != nil {
		t.Fatalf("ready line %q: %v", shown, err)
	}
	for _, k := range []string{"url", "caFile", "tenantId", "org", "user", "repoUrl", "gitConfig", "project", "repo", "password", "controlUrl"} {
		if info[k] == "" {
			t.Errorf("ready line lacks %s: %s", k, shown)
		}
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("state dir: %v %v", err, st)
	}

	// The CA file is all a client needs to trust the server.
	pem, err := os.ReadFile(info["caFile"])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("caFile holds no certificate")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	resp, err := client.Get(info["url"] + "/" + info["org"])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("X-VSS-ResourceTenant") != info["tenantId"] {
		t.Errorf("org probe: %d %v", resp.StatusCode, resp.Header)
	}

	// Sign in with the printed password and use the access token with git,
	// whose only CA configuration comes from the gitConfig include.
	resp, err = client.PostForm(info["url"]+"/"+info["tenantId"]+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"password"}, "client_id": {"872cd9fa-d31f-45e0-9eab-6e460a02d1f1"},
		"username": {info["user"]}, "password": {info["password"]}, "scope": {"499b84ac-1321-427f-aa17-267ca6975798/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v %d", err, resp.StatusCode)
	}
	home := testenv.TempDir(t)
	global := filepath.Join(home, "gitconfig")
	if err := os.WriteFile(global, []byte("[include]\n\tpath = "+info["gitConfig"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := "credential." + info["url"] + ".helper"
	ls := exec.Command(git, "-c", key+"=", "-c", key+"=!f(){ echo username=x; echo password="+tok.AccessToken+"; }; f", "ls-remote", info["repoUrl"])
	ls.Env = []string{"HOME=" + home, "GIT_CONFIG_GLOBAL=" + global, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "PATH=" + os.Getenv("PATH")}
	out, err := ls.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "refs/heads/main") {
		t.Errorf("git ls-remote: %v\n%s", err, out)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if exitErr != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", exitErr, stderr.String())
		}
	case <-time.After(time.Minute): // a hang, not a slow machine
		t.Fatal("no exit a minute after SIGTERM")
	}
	if len(rest) > 0 {
		t.Errorf("more than one line on stdout: %q", rest)
	}
	if !strings.Contains(stderr.String(), "stopping") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
	// The state dir the user named is kept.
	if _, err := os.Stat(filepath.Join(dir, "ca.pem")); err != nil {
		t.Error(err)
	}
}
