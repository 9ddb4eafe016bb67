//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package orglock

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain makes the test binary double as the child a lock is passed to.
func TestMain(m *testing.M) {
	if fd := os.Getenv("ORGLOCK_TEST_REPORT"); fd != "" {
		os.Exit(report(fd))
	}
	if dir := os.Getenv("ORGLOCK_TEST_DIR"); dir != "" {
		os.Exit(child(dir, os.Getenv("ORGLOCK_TEST_KEY")))
	}
	os.Exit(m.Run())
}

// child takes the lock its parent passed, says what it holds, and then obeys stdin: "unlock",
// or "grandchild" (start a long-lived process, as a sign-in starts a browser). With
// ORGLOCK_TEST_CLAIM set it first claims the lock, as the full program does, and starts a
// process before taking it, which says what it inherited.
func child(dir, key string) int {
	named, err := strconv.Atoi(os.Getenv(FDEnv))
	if os.Getenv("ORGLOCK_TEST_CLAIM") != "" {
		Claim()
		probe := exec.Command(os.Args[0])
		probe.Env = append(os.Environ(), "ORGLOCK_TEST_REPORT="+strconv.Itoa(named))
		out, err := probe.Output()
		if err != nil {
			fmt.Println(err)
			return 1
		}
		fmt.Print(string(out))
	}
	open := func() bool {
		var st syscall.Stat_t
		return err == nil && syscall.Fstat(named, &st) == nil
	}
	wasOpen := open()
	l := Inherited(dir, key)
	if wasOpen && !open() {
		fmt.Println("closed", named)
	} else if flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(named), syscall.F_GETFD, 0); wasOpen && named > 2 && errno == 0 && flags&syscall.FD_CLOEXEC == 0 {
		fmt.Println("inheritable", named) // a browser or git started now would keep it open
	}
	if v, ok := os.LookupEnv(FDEnv); ok {
		fmt.Printf("%s is still set to %q\n", FDEnv, v)
	}
	if Inherited(dir, key) != nil {
		fmt.Println("inherited twice")
	}
	if l == nil {
		fmt.Println("none")
	} else {
		fmt.Println("held")
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "unlock":
			l.Unlock()
			fmt.Println("unlocked")
		case "grandchild":
			sleep := exec.Command("sleep", "60")
			if err := sleep.Start(); err != nil {
				fmt.Println(err)
				return 1
			}
			fmt.Println(sleep.Process.Pid)
		}
	}
	return 0
}

// report, in a process the child started, says whether descriptor fd is the lock file here
// (Go's runtime may have opened another file under that number) and whether FDEnv is set: the
// lock's descriptor and name, if the child passed them on.
func report(fd string) int {
	n, _ := strconv.Atoi(fd)
	var st syscall.Stat_t
	lock := syscall.Fstat(n, &st) == nil && isFile(&st, Path(os.Getenv("ORGLOCK_TEST_DIR"), os.Getenv("ORGLOCK_TEST_KEY")))
	_, set := os.LookupEnv(FDEnv)
	fmt.Printf("lock descriptor %v, %s set %v\n", lock, FDEnv, set)
	return 0
}

type childProc struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// startChild starts the child for key, passing it pass (if not nil) and env.
func startChild(t *testing.T, dir, key string, pass *Lock, env ...string) *childProc {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), append([]string{"ORGLOCK_TEST_DIR=" + dir, "ORGLOCK_TEST_KEY=" + key}, env...)...)
	cmd.Stderr = os.Stderr
	// Under -race each child would otherwise wait a second at exit.
	cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if pass != nil {
		pass.PassTo(cmd)
	}
	err = cmd.Start()
	if pass != nil {
		pass.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	c := &childProc{cmd: cmd, in: in, out: bufio.NewReader(out)}
	t.Cleanup(func() {
		c.in.Close()
		c.cmd.Wait()
	})
	return c
}

// say sends line to the child and returns its answer.
func (c *childProc) say(t *testing.T, line string) string {
	t.Helper()
	if _, err := io.WriteString(c.in, line+"\n"); err != nil {
		t.Fatal(err)
	}
	return c.read(t)
}

func (c *childProc) read(t *testing.T) string {
	t.Helper()
	type answer struct {
		s   string
		err error
	}
	got := make(chan answer, 1)
	go func() {
		s, err := c.out.ReadString('\n')
		got <- answer{strings.TrimSuffix(s, "\n"), err}
	}()
	select {
	case a := <-got:
		if a.err != nil {
			t.Fatalf("reading the child: %v", a.err)
		}
		return a.s
	case <-time.After(30 * time.Second):
		t.Fatal("the child did not answer")
		return ""
	}
}

// free reports whether key's lock can be taken now, releasing it at once.
func free(t *testing.T, dir, key string) bool {
	t.Helper()
	l, err := TryAcquire(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	if l == nil {
		return false
	}
	l.Unlock()
	return true
}

func TestTryAcquireDoesNotWait(t *testing.T) {
	dir := t.TempDir()
	l, err := TryAcquire(dir, "pat:k")
	if err != nil || l == nil {
		t.Fatalf("free lock: %v, %v", l, err)
	}
	if free(t, dir, "pat:k") {
		t.Fatal("took a lock held by TryAcquire")
	}
	if !free(t, dir, "pat:other") {
		t.Fatal("another key's lock is held too")
	}
	l.Unlock()
	if !free(t, dir, "pat:k") {
		t.Fatal("Unlock did not release the lock")
	}
	// Acquire's locks and TryAcquire's are the same lock.
	a, err := Acquire(t.Context(), dir, "pat:k")
	if err != nil {
		t.Fatal(err)
	}
	if free(t, dir, "pat:k") {
		t.Fatal("TryAcquire took a lock held by Acquire")
	}
	a.Unlock()
}

// childHolding takes key's lock, passes it to a new child and checks that the child holds it.
func childHolding(t *testing.T, dir, key string) *childProc {
	t.Helper()
	l, err := TryAcquire(dir, key)
	if err != nil || l == nil {
		t.Fatalf("free lock: %v, %v", l, err)
	}
	c := startChild(t, dir, key, l)
	if got := c.read(t); got != "held" {
		t.Fatalf("child: %q, want held", got)
	}
	return c
}

// A passed lock stays held while the child works, the parent's handle closed, and the child's
// Unlock releases it while the child still runs.
func TestPassedLockIsTheChildsToRelease(t *testing.T) {
	dir := t.TempDir()
	c := childHolding(t, dir, "pat:k")
	if free(t, dir, "pat:k") {
		t.Fatal("the lock was free while the child held it")
	}
	if got := c.say(t, "unlock"); got != "unlocked" {
		t.Fatalf("child: %q", got)
	}
	if !free(t, dir, "pat:k") {
		t.Fatal("the child's Unlock did not release the lock")
	}
}

// A child killed while it holds a passed lock releases it, even if it started a process that
// outlives it: that process must not inherit the lock.
func TestPassedLockDiesWithTheChild(t *testing.T) {
	dir := t.TempDir()
	c := childHolding(t, dir, "pat:k")
	pid, err := strconv.Atoi(c.say(t, "grandchild"))
	if err != nil {
		t.Fatal(err)
	}
	grandchild, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer grandchild.Kill()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
	if !free(t, dir, "pat:k") {
		t.Fatal("the lock outlived the child that held it")
	}
}

// A process the child starts between Claim and Inherited inherits neither the lock's descriptor
// nor the variable naming it, and the child still takes the lock.
func TestClaimKeepsTheLockFromProcessesStartedMeanwhile(t *testing.T) {
	dir := t.TempDir()
	l, err := TryAcquire(dir, "pat:k")
	if err != nil || l == nil {
		t.Fatalf("free lock: %v, %v", l, err)
	}
	c := startChild(t, dir, "pat:k", l, "ORGLOCK_TEST_CLAIM=1")
	if got, want := c.read(t), "lock descriptor false, "+FDEnv+" set false"; got != want {
		t.Fatalf("a process started after Claim: %q, want %q", got, want)
	}
	if got := c.read(t); got != "held" {
		t.Fatalf("child: %q, want held", got)
	}
}

// A descriptor for another key's lock is not taken, and is closed: the other lock is free again
// while the child runs.
func TestInheritedIgnoresAnotherKeysLock(t *testing.T) {
	dir := t.TempDir()
	l, err := TryAcquire(dir, "pat:other")
	if err != nil || l == nil {
		t.Fatalf("free lock: %v, %v", l, err)
	}
	c := startChild(t, dir, "pat:k", l)
	if got := c.read(t); got != "closed 3" {
		t.Fatalf("child: %q, want closed 3", got)
	}
	if got := c.read(t); got != "none" {
		t.Fatalf("child: %q, want none", got)
	}
	if !free(t, dir, "pat:other") {
		t.Fatal("the child kept another key's lock")
	}
	if !free(t, dir, "pat:k") {
		t.Fatal("the child took a lock nobody passed it")
	}
}

// A stray value is ignored, and what it names is left open.
func TestInheritedIgnoresBadValues(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"", "x", "-1", "0", "1", "2", "99", "3"} {
		t.Run(v, func(t *testing.T) {
			c := startChild(t, dir, "pat:k", nil, FDEnv+"="+v)
			if got := c.read(t); got != "none" {
				t.Fatalf("child: %q, want none", got)
			}
			if !free(t, dir, "pat:k") {
				t.Fatal("the child took a lock nobody passed it")
			}
		})
	}
	t.Run("a file that is not a lock", func(t *testing.T) {
		f, err := os.CreateTemp(t.TempDir(), "other")
		if err != nil {
			t.Fatal(err)
		}
		if !free(t, dir, "pat:k") { // and the lock directory exists
			t.Fatal("the lock is held")
		}
		c := startChild(t, dir, "pat:k", &Lock{file: f}) // passed as a lock is, without one
		if got := c.read(t); got != "none" {
			t.Fatalf("child: %q, want none", got)
		}
	})
}
