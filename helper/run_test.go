package helper

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/cache"
)

// fakeCredentials records what Run asks of the manager.
type fakeCredentials struct {
	cred     cache.Credential
	err      error
	gets     []cache.Target
	rejected []string
}

func (f *fakeCredentials) Credential(_ context.Context, t cache.Target) (cache.Credential, error) {
	f.gets = append(f.gets, t)
	return f.cred, f.err
}

func (f *fakeCredentials) Reject(_ context.Context, t cache.Target, password string) error {
	f.gets = append(f.gets, t)
	f.rejected = append(f.rejected, password)
	return nil
}

func TestRun(t *testing.T) {
	expiry := time.Unix(1800000000, 0)
	tests := []struct {
		name       string
		op         string
		input      string
		bearer     bool  // the manager hands out an Entra access token, not a PAT
		credsErr   error // building the manager fails
		credErr    error
		wantOut    string
		wantErr    string // substring
		wantTarget *cache.Target
		wantReject string
	}{
		{
			name:       "get for dev.azure.com",
			op:         "get",
			input:      "protocol=https\nhost=dev.azure.com\npath=Contoso/proj/_git/repo\n\n",
			wantOut:    "username=contoso\npassword=the-pat\npassword_expiry_utc=1800000000\n\n",
			wantTarget: &cache.Target{Org: "contoso"},
		},
		{
			name:       "get echoes git's user name and passes wwwauth on",
			op:         "get",
			input:      "protocol=https\nhost=fabrikam.visualstudio.com\nusername=fabrikam\nwwwauth[]=Bearer authorization_uri=https://login.microsoftonline.com/t\n",
			wantOut:    "username=fabrikam\npassword=the-pat\npassword_expiry_utc=1800000000\n\n",
			wantTarget: &cache.Target{Org: "fabrikam", Challenges: []string{"Bearer authorization_uri=https://login.microsoftonline.com/t"}},
		},
		{
			name:       "get with an account in the URL",
			op:         "get",
			input:      "protocol=https\nhost=dev.azure.com\nusername=alice@contoso.com\npath=contoso/p/_git/r\n",
			wantOut:    "username=alice@contoso.com\npassword=the-pat\npassword_expiry_utc=1800000000\n\n",
			wantTarget: &cache.Target{Org: "contoso", Account: "alice@contoso.com"},
		},
		// git 2.46+ announces capability[]=authtype: an Entra access token goes back as a bearer
		// credential, which it puts in an Authorization: Bearer header.
		{
			name:       "git with authtype gets an Entra access token as a bearer credential",
			op:         "get",
			input:      "capability[]=authtype\ncapability[]=state\nprotocol=https\nhost=dev.azure.com\npath=contoso/p/_git/r\n\n",
			bearer:     true,
			wantOut:    "capability[]=authtype\nauthtype=Bearer\ncredential=the-pat\nephemeral=1\npassword_expiry_utc=1800000000\n\n",
			wantTarget: &cache.Target{Org: "contoso"},
		},
		{
			name:       "older git gets an Entra access token as the password",
			op:         "get",
			input:      "protocol=https\nhost=dev.azure.com\npath=contoso/p/_git/r\n\n",
			bearer:     true,
			wantOut:    "username=contoso\npassword=the-pat\npassword_expiry_utc=1800000000\n\n",
			wantTarget: &cache.Target{Org: "contoso"},
		},
		{
			name:       "git with other capabilities only gets an Entra access token as the password",
			op:         "get",
			input:      "capability[]=state\ncapability[]=authtype\ncapability[]=\ncapability[]=state\nprotocol=https\nhost=dev.azure.com\npath=contoso\n",
			bearer:     true,
			wantOut:    "username=contoso\npassword=the-pat\npassword_expiry_utc=1800000000\n\n",
			wantTarget: &cache.Target{Org: "contoso"},
		},
		{
			name:       "a PAT stays a Basic password for git with authtype",
			op:         "get",
			input:      "capability[]=authtype\nprotocol=https\nhost=dev.azure.com\npath=contoso/p/_git/r\n\n",
			wantOut:    "username=contoso\npassword=the-pat\npassword_expiry_utc=1800000000\n\n",
			wantTarget: &cache.Target{Org: "contoso"},
		},
		{
			name:  "get for another host asks nothing and says nothing",
			op:    "get",
			input: "protocol=https\nhost=github.com\npath=o/r.git\n",
		},
		{
			name:  "get for another host that is unusable is declined, not refused",
			op:    "get",
			input: "protocol=https\nhost=example.com:\npath=x\n",
		},
		{
			name:    "a request without a host is refused",
			op:      "get",
			input:   "protocol=https\npath=x\n",
			wantErr: "credential input has no host",
		},
		{
			name:  "get for a lookalike host is not ours",
			op:    "get",
			input: "protocol=https\nhost=dev.azure.com.evil.example\npath=contoso\n",
		},
		{
			name:    "get over plain http is refused",
			op:      "get",
			input:   "protocol=http\nhost=dev.azure.com\npath=contoso\n",
			wantErr: "plain http",
		},
		{
			name:    "a request without a protocol is refused",
			op:      "get",
			input:   "host=dev.azure.com\npath=x\n",
			wantErr: "credential input has no protocol",
		},
		{
			name:       "keys this helper does not know, or values it would not accept, fail nothing",
			op:         "get",
			input:      "protocol=https\nhost=dev.azure.com\npath=contoso\nephemeral=maybe\nfuture=1\nfuture[]=a\nstate[]=x\ncontinue=1\n",
			wantOut:    "username=contoso\npassword=the-pat\npassword_expiry_utc=1800000000\n\n",
			wantTarget: &cache.Target{Org: "contoso"},
		},
		{
			name:    "get without a host is malformed",
			op:      "get",
			input:   "protocol=https\n",
			wantErr: "host",
		},
		{
			name:    "get with a NUL is malformed",
			op:      "get",
			input:   "protocol=https\nhost=dev.azure.com\x00\n",
			wantErr: "credential input line 2",
		},
		{
			name:       "a failed get tells git to quit",
			op:         "get",
			input:      "protocol=https\nhost=dev.azure.com\npath=contoso\n",
			credErr:    errors.New("sign-in required"),
			wantOut:    "quit=1\n\n",
			wantErr:    "sign-in required",
			wantTarget: &cache.Target{Org: "contoso"},
		},
		{
			name:     "a get whose manager cannot be built tells git to quit",
			op:       "get",
			input:    "protocol=https\nhost=dev.azure.com\npath=contoso\n",
			credsErr: errors.New("the state directory is writable by others"),
			wantOut:  "quit=1\n\n",
			wantErr:  "writable by others",
		},
		{
			name:       "erase passes the refused password on",
			op:         "erase",
			input:      "protocol=https\nhost=dev.azure.com\npath=contoso\nusername=contoso\npassword=old-pat\n",
			wantTarget: &cache.Target{Org: "contoso"},
			wantReject: "old-pat",
		},
		// git 2.46+ erases the bearer credential answer gave it with authtype and credential, and
		// no password.
		{
			name:       "erase passes a refused bearer credential on, with the challenge",
			op:         "erase",
			input:      "capability[]=authtype\nauthtype=Bearer\ncredential=old-token\nprotocol=https\nhost=dev.azure.com\npath=contoso\nwwwauth[]=Bearer error=\"insufficient_claims\", claims=\"e30=\"\n",
			wantTarget: &cache.Target{Org: "contoso", Challenges: []string{`Bearer error="insufficient_claims", claims="e30="`}},
			wantReject: "old-token",
		},
		{
			name:       "erase reads the bearer scheme in any case",
			op:         "erase",
			input:      "capability[]=authtype\nauthtype=bearer\ncredential=old-token\nprotocol=https\nhost=dev.azure.com\npath=contoso\n",
			wantTarget: &cache.Target{Org: "contoso"},
			wantReject: "old-token",
		},
		{
			name:  "erase of a credential of another scheme does nothing",
			op:    "erase",
			input: "capability[]=authtype\nauthtype=Basic\ncredential=Y29udG9zbzpwYXQ=\nprotocol=https\nhost=dev.azure.com\npath=contoso\n",
		},
		{
			name:  "erase without a password does nothing",
			op:    "erase",
			input: "protocol=https\nhost=dev.azure.com\npath=contoso\n",
		},
		{
			name:  "erase for another host does nothing",
			op:    "erase",
			input: "protocol=https\nhost=example.com\npassword=x\n",
		},
		{
			name:  "store changes nothing",
			op:    "store",
			input: "protocol=https\nhost=dev.azure.com\npath=contoso\nusername=contoso\npassword=the-pat\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeCredentials{cred: cache.Credential{Password: "the-pat", Expires: expiry, Bearer: tt.bearer}, err: tt.credErr}
			var out bytes.Buffer
			err := Run(context.Background(), tt.op, Options{
				Credentials: func() (Credentials, error) {
					if tt.credsErr != nil {
						return nil, tt.credsErr
					}
					return fake, nil
				},
				Stdin:  strings.NewReader(tt.input),
				Stdout: &out,
			})
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Run: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Run error = %v, want it to mention %q", err, tt.wantErr)
			}
			if out.String() != tt.wantOut {
				t.Fatalf("stdout = %q, want %q", out.String(), tt.wantOut)
			}
			switch {
			case tt.wantTarget == nil && len(fake.gets) > 0:
				t.Fatalf("the manager was asked for %+v", fake.gets)
			case tt.wantTarget != nil && (len(fake.gets) != 1 || !sameTarget(fake.gets[0], *tt.wantTarget)):
				t.Fatalf("targets = %+v, want %+v", fake.gets, *tt.wantTarget)
			}
			if got := strings.Join(fake.rejected, ","); got != tt.wantReject {
				t.Fatalf("rejected %q, want %q", got, tt.wantReject)
			}
		})
	}
}

func sameTarget(a, b cache.Target) bool {
	return a.Org == b.Org && a.Account == b.Account && strings.Join(a.Challenges, "\n") == strings.Join(b.Challenges, "\n")
}

// The manager is built only for requests that are ours: its construction may touch the keyring.
func TestRunBuildsTheManagerOnlyWhenNeeded(t *testing.T) {
	built := false
	err := Run(context.Background(), "get", Options{
		Credentials: func() (Credentials, error) { built = true; return nil, errors.New("unreachable") },
		Stdin:       strings.NewReader("protocol=https\nhost=github.com\n"),
		Stdout:      &bytes.Buffer{},
	})
	if err != nil || built {
		t.Fatalf("err=%v built=%v", err, built)
	}
}

// A host made to pass for an Azure DevOps one (spaces, controls, format characters that print as
// nothing or reverse the text, slashes, user information, odd ports) is not served: Run asks the
// manager nothing and says nothing, and git asks its next helper.
func TestRunDeclinesDisguisedHosts(t *testing.T) {
	for _, host := range []string{
		"dev.azure.com x",        // space
		"dev.azure.com\t",        // tab
		"dev\x01.azure.com",      // control
		"dev\x7f.azure.com",      // DEL
		"dev\u00a0azure.com",     // unicode space
		"dev\u200b.azure.com",    // zero width
		"moc.eruza.ved\u202e",    // bidi override
		"\ufeffdev.azure.com",    // BOM
		"dev.azure.com\u2028",    // line separator
		"dev\u0085.azure.com",    // C1 control
		"evil.com/dev.azure.com", // slash
		`evil.com\dev.azure.com`, // backslash
		"dev.azure.com@evil.com", // userinfo
		"dev.azure.com:0",        // port zero
		"dev.azure.com:65536",    // port too big
		"dev.azure.com:0443",     // port leading zero
		"dev.azure.com:https",    // port not numeric
		"dev.azure.com:-1",       // port negative
		"dev.azure.com:+443",     // port plus
		"dev.azure.com:",         // empty port
		":443",                   // only a port
		"::1",                    // bare IPv6
		"[::1",                   // unclosed IPv6
		"[::1]x",                 // junk after IPv6
		"[::1]:",                 // empty port after IPv6
		"[]",                     // empty IPv6
		"dev\xff.azure.com",      // invalid utf8
	} {
		fake := &fakeCredentials{cred: cache.Credential{Password: "the-pat"}}
		var out bytes.Buffer
		err := Run(context.Background(), "get", Options{
			Credentials: func() (Credentials, error) { return fake, nil },
			Stdin:       strings.NewReader("protocol=https\nhost=" + host + "\npath=contoso/p/_git/r\n"),
			Stdout:      &out,
		})
		if len(fake.gets) != 0 || out.Len() != 0 {
			t.Errorf("host %q: asked the manager for %+v and answered %q (err %v)", host, fake.gets, out.String(), err)
		}
	}
}
