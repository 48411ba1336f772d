//go:build unix

package reliability

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildServer builds cmd/uploads-server into a temporary directory and returns its path.
func buildServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "uploads-server")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/uploadkit/uploads/cmd/uploads-server")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build uploads-server: %v\n%s", err, out)
	}
	return bin
}

// freeAddr is a loopback address with a port nobody listens on (free when it returned).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// serverProcess is a running uploads-server.
type serverProcess struct {
	cmd    *exec.Cmd
	URL    string // ending in /v1
	stderr string // file the server logs to
	exited chan error
}

// startBinary runs bin on dataDir, accepting key A, and waits until it answers /healthz.
func startBinary(t *testing.T, bin, dataDir string) *serverProcess {
	t.Helper()
	addr := freeAddr(t)
	logFile, err := os.CreateTemp(t.TempDir(), "server-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-addr", addr, "-data", dataDir, "-api-key", keyA)
	cmd.Env = append(os.Environ(), "UPLOADS_API_KEYS=", "UPLOADS_ADDR=", "UPLOADS_DATA_DIR=")
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start uploads-server: %v", err)
	}
	p := &serverProcess{cmd: cmd, URL: "http://" + addr + "/v1", stderr: logFile.Name(), exited: make(chan error, 1)}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		announced := false
		for sc.Scan() {
			if !announced && strings.Contains(sc.Text(), "listening on http://"+addr) {
				announced = true
				close(listening)
			}
		}
	}()
	go func() { p.exited <- cmd.Wait(); logFile.Close() }()
	t.Cleanup(func() { p.kill(t) })

	select {
	case <-listening:
	case err := <-p.exited:
		p.exited <- err
		t.Fatalf("uploads-server exited at start: %v\n%s", err, p.log())
	case <-time.After(30 * time.Second):
		t.Fatalf("uploads-server did not say it was listening within 30s\n%s", p.log())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("uploads-server is not healthy: %v\n%s", err, p.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// kill ends the server with SIGKILL, as a crash or an OOM killer would, and waits for it to go.
func (p *serverProcess) kill(t *testing.T) {
	t.Helper()
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case err := <-p.exited:
		p.exited <- err
	case <-time.After(30 * time.Second):
		t.Fatalf("uploads-server %d did not die of SIGKILL", p.cmd.Process.Pid)
	}
}

// log is what the server wrote to stderr so far.
func (p *serverProcess) log() string {
	b, _ := os.ReadFile(p.stderr)
	return string(b)
}

// checkCleanLog fails when the server logged anything at warning level or above.
func (p *serverProcess) checkCleanLog(t *testing.T) {
	t.Helper()
	for line := range strings.SplitSeq(p.log(), "\n") {
		if strings.Contains(line, "level=ERROR") || strings.Contains(line, "level=WARN") {
			t.Errorf("the server logged a problem: %s", line)
		}
	}
}
