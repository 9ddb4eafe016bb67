// Command azdo-emulator serves the patmgr/azdotest emulator of Entra ID and
// Azure DevOps on loopback HTTPS, for manual testing and for tests written
// in other languages.
//
// When ready it prints one JSON line on stdout describing the server (url,
// caFile, tenantId, org, project, repo, user, password, repoUrl, gitConfig,
// controlUrl, dir); logs go to stderr. SIGINT or SIGTERM stop it cleanly.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/git-credential-azdo/git-credential-azdo/patmgr/azdotest"
)

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix("azdo-emulator: ")
	// -help's usage went to stderr; asking for it is not a failure.
	if err := run(os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		log.Print(err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("azdo-emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address `HOST:PORT` (port 0 picks a free port)")
	dir := fs.String("dir", "", "state `DIR` for the CA, gitconfig and repositories (created 0700 if missing; default: a temporary dir removed on exit)")
	auto := fs.Bool("auto-approve", false, "sign the default user in without a page and approve device codes at once")
	quiet := fs.Bool("quiet", false, "do not log requests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	opts := azdotest.Options{Dir: *dir, Addr: *addr, AutoApprove: *auto}
	if !*quiet {
		opts.Logf = log.Printf
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	s, err := azdotest.NewServer(opts)
	if err != nil {
		return err
	}
	defer s.Close()
	// The one line on stdout is the readiness signal: the server is
	// accepting connections by the time it is written.
	if err := json.NewEncoder(os.Stdout).Encode(s.Info()); err != nil {
		return err
	}
	log.Printf("serving %s (state in %s)", s.URL, s.Dir)
	<-ctx.Done()
	log.Print("stopping")
	return nil
}
