package main

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTimeouts runs the binary against servers that do not answer.
func TestTimeouts(t *testing.T) {
	bin := buildCLI(t)
	t.Run("a server that never answers fails the call at --timeout", func(t *testing.T) { testNeverAnswers(t, bin) })
	t.Run("negative --timeout and --retries are usage errors", func(t *testing.T) { testTimeoutUsage(t, bin) })
}

// silentServer accepts connections and never reads from nor writes to them. It returns the base URL
// and a function that reports how many connections it accepted.
func silentServer(t *testing.T) (string, func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String() + "/v1", func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
}

func testNeverAnswers(t *testing.T, bin string) {
	base, accepted := silentServer(t)
	c := newCLI(bin, base)
	cmd, _, stderr := c.command("file", "get", "file-abc", "--timeout", "2s", "--retries", "0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The default timeout is a minute: a run that ignored --timeout would still be waiting when
	// this bound ends it.
	code := waitExitWithin(t, cmd, 30*time.Second)
	if code != exitFailure {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitFailure, stderr)
	}
	if want := "attempt timed out after 2s"; !strings.HasPrefix(stderr.String(), "error: retrieve file file-abc: ") || !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr = %q, want an error line that says %q", stderr, want)
	}
	if n := accepted(); n != 1 {
		t.Errorf("%d connections, want 1: --retries 0 makes one attempt", n)
	}
}

func testTimeoutUsage(t *testing.T, bin string) {
	base, accepted := silentServer(t)
	c := newCLI(bin, base)
	for _, args := range [][]string{
		{"file", "get", "file-abc", "--timeout", "-1s"},
		{"file", "get", "file-abc", "--retries", "-1"},
		{"file", "get", "file-abc", "--timeout", "soon"},
	} {
		res := c.run(t, args...)
		if res.code != exitUsage || !strings.HasPrefix(res.stderr, "error: ") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, res.code, res.stderr)
		}
	}
	if n := accepted(); n != 0 {
		t.Errorf("usage errors opened %d connections, want none", n)
	}
}
