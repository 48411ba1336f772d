package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uploadkit/uploads/conformance"
	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/sqlitestore"
)

// testKey is the API key the test servers accept.
const testKey = "sk-test-cli-0123456789abcdef"

// waitBound bounds every wait for the binary or the server; it is a safety valve against a hung test, never
// an assertion about speed.
const waitBound = 60 * time.Second

// buildCLI builds the command into a temporary directory and returns the path of the binary.
func buildCLI(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("find the go command: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "uploads")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// testServer is the reference server on the real SQLite store in a temporary directory, served over loopback,
// with every exchange checked against the spec.
type testServer struct {
	URL      string // base URL of the API, ending in /v1
	store    *ownerStore
	requests atomic.Int64 // requests that reached the API
}

// newTestServer starts a server; requests pass through the gates, the first one outermost.
func newTestServer(t *testing.T, gates ...*gate) *testServer {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	ts := &testServer{store: &ownerStore{Store: st}}
	srv, err := server.New(server.Config{
		Store:         ts.store,
		APIKeys:       []string{testKey},
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		SweepInterval: -1,
	})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	validator, err := conformance.New(ctx)
	if err != nil {
		t.Fatalf("conformance validator: %v", err)
	}
	var handler http.Handler = validator.Handler(srv, func(err error) { t.Errorf("conformance: %v", err) })
	for _, g := range slices.Backward(gates) {
		handler = g.wrap(handler)
	}
	counted := handler
	handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.requests.Add(1)
		counted.ServeHTTP(w, r)
	})
	httpServer := httptest.NewServer(handler)
	ts.URL = httpServer.URL + "/v1"
	t.Cleanup(func() {
		for _, g := range gates {
			g.open() // Close waits for the requests a gate holds
		}
		httpServer.Close()
		_ = srv.Close()
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return ts
}

// uploadStatus reads the status of an upload straight from the server's store.
func (ts *testServer) uploadStatus(t *testing.T, uploadID string) store.Status {
	t.Helper()
	owner, ok := ts.store.owners.Load(uploadID)
	if !ok {
		t.Fatalf("upload %s was never created", uploadID)
	}
	up, err := ts.store.GetUpload(context.Background(), owner.(string), uploadID, time.Now().Unix())
	if err != nil {
		t.Fatalf("read upload %s from the store: %v", uploadID, err)
	}
	return up.Status
}

// ownerStore is the real store, remembering who created each upload so that the test can read it back.
type ownerStore struct {
	store.Store
	owners sync.Map // upload ID → owner
}

func (s *ownerStore) CreateUpload(ctx context.Context, u store.Upload) error {
	err := s.Store.CreateUpload(ctx, u)
	if err == nil {
		s.owners.Store(u.ID, u.Owner)
	}
	return err
}

// gate holds the requests it matches until released, after letting the first `pass` of them through: a server
// slowed down at will. Held requests are answered 503 once released (their client has usually gone by then),
// or, with proceed, served.
type gate struct {
	match    func(*http.Request) bool
	pass     int64
	seen     atomic.Int64
	held     chan string // the path of each request as it is held
	release  chan struct{}
	released sync.Once
	proceed  bool // once released, a held request goes on to the server instead of getting a 503
}

func newGate(pass int64, match func(*http.Request) bool) *gate {
	return &gate{match: match, pass: pass, held: make(chan string, 64), release: make(chan struct{})}
}

// open lets every held request go.
func (g *gate) open() { g.released.Do(func() { close(g.release) }) }

func (g *gate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.match(r) || g.seen.Add(1) <= g.pass {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case g.held <- r.URL.Path:
		default:
		}
		select {
		case <-g.release:
			if g.proceed {
				next.ServeHTTP(w, r)
				return
			}
		case <-r.Context().Done():
		case <-time.After(waitBound):
		}
		http.Error(w, "held by the test", http.StatusServiceUnavailable)
	})
}

// waitHeld waits until the gate holds a request and returns its path.
func (g *gate) waitHeld(t *testing.T) string {
	t.Helper()
	select {
	case path := <-g.held:
		return path
	case <-time.After(waitBound):
		t.Fatalf("no request was held within %v", waitBound)
		return ""
	}
}

// isPart matches the requests that add a part; isCancel those that cancel an upload.
func isPart(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/parts")
}

func isCancel(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/cancel")
}

// result is what a run of the binary did.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the binary against a server.
type cli struct {
	bin string
	env []string
}

func newCLI(bin, baseURL string) cli {
	return cli{bin: bin, env: []string{
		"OPENAI_API_KEY=" + testKey,
		"OPENAI_BASE_URL=" + baseURL,
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
	}}
}

// command prepares a run of the binary with args, its output captured.
func (c cli) command(args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

// run runs the binary with args to the end.
func (c cli) run(t *testing.T, args ...string) result {
	t.Helper()
	cmd, stdout, stderr := c.command(args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	code := waitExit(t, cmd)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// mustRun runs the binary and fails the test unless it exits 0.
func (c cli) mustRun(t *testing.T, args ...string) result {
	t.Helper()
	res := c.run(t, args...)
	if res.code != 0 {
		t.Fatalf("uploads %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), res.code, res.stdout, res.stderr)
	}
	return res
}

// waitExit waits, within waitBound, for a started command to end and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	return waitExitWithin(t, cmd, waitBound)
}

// writeRandomFile writes size random bytes into a new file and returns its path and content.
func writeRandomFile(t *testing.T, name string, size int) (string, []byte) {
	t.Helper()
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatalf("random bytes: %v", err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path, data
}

// decodeJSON decodes the binary's JSON output into a map.
func decodeJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("output is not a JSON object: %v\n%s", err, out)
	}
	return m
}

// waitExitWithin waits, within bound, for a started command to end and returns its exit code; a
// command still running after bound is killed and fails the test.
func waitExitWithin(t *testing.T, cmd *exec.Cmd, bound time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			t.Fatalf("wait for %s: %v", cmd.Path, err)
		}
		return cmd.ProcessState.ExitCode()
	case <-time.After(bound):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%v did not exit within %v", cmd.Args, bound)
		return -1
	}
}
