package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/uploadkit/uploads"
	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/pgstore/pgstoretest"
	"github.com/uploadkit/uploads/store/sqlitestore"
)

// The upload of the resume tests: 48 parts of 64 KiB, sent 4 at a time; the server holds the
// parts after the first resumeHoldAfter, so the CLI is killed with exactly that many acknowledged.
const (
	resumeFileSize    = 3 << 20
	resumePartSize    = 64 << 10
	resumeParts       = resumeFileSize / resumePartSize
	resumeConcurrency = 4
	resumeHoldAfter   = 16
)

// TestPutResume kills `uploads put --resume` with SIGKILL mid-upload and runs it again, on the
// SQLite store and on the PostgreSQL + S3 one.
func TestPutResume(t *testing.T) {
	bin := buildCLI(t)
	stores := []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"sqlite", func(t *testing.T) store.Store {
			st, err := sqlitestore.Open(context.Background(), t.TempDir())
			if err != nil {
				t.Fatalf("open store: %v", err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st
		}},
		{"pgstore", func(t *testing.T) store.Store { return pgstoretest.Open(t) }},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			t.Run("killed, then resumed", func(t *testing.T) { testResumeAfterKill(t, bin, s.open(t)) })
			t.Run("source changed in between", func(t *testing.T) { testResumeSourceChanged(t, bin, s.open(t)) })
			t.Run("journal torn mid-write", func(t *testing.T) { testResumeTornJournal(t, bin, s.open(t)) })
			t.Run("upload expired in between", func(t *testing.T) { testResumeExpired(t, bin, s.open(t)) })
			t.Run("Ctrl-C keeps the upload pending", func(t *testing.T) { testResumeInterrupt(t, bin, s.open(t)) })
		})
	}
}

// resumeServer is the reference server on st, over loopback, with a clock the test moves, a count
// of the parts it acknowledged per upload, and a hold on parts that lasts until their client is gone.
type resumeServer struct {
	URL string

	offset    atomic.Int64 // nanoseconds the server's clock is ahead
	holdAfter atomic.Int64 // parts beyond this many are held (0: none is)
	seen      atomic.Int64 // parts that arrived
	held      chan struct{}

	mu       sync.Mutex
	accepted map[string]int // upload ID → parts acknowledged with a 200
}

func newResumeServer(t *testing.T, st store.Store) *resumeServer {
	t.Helper()
	rs := &resumeServer{held: make(chan struct{}, 64), accepted: map[string]int{}}
	srv, err := server.New(server.Config{
		Store:         st,
		APIKeys:       []string{testKey},
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		SweepInterval: -1,
		Now:           func() time.Time { return time.Now().Add(time.Duration(rs.offset.Load())) },
	})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isPart(r) {
			srv.ServeHTTP(w, r)
			return
		}
		if limit := rs.holdAfter.Load(); limit > 0 && rs.seen.Add(1) > limit {
			rs.held <- struct{}{}
			// The server notices that the client hung up only once the body is read.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(waitBound):
			}
			http.Error(w, "held by the test", http.StatusServiceUnavailable)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		srv.ServeHTTP(rec, r)
		if rec.code == http.StatusOK {
			id := strings.Split(strings.TrimPrefix(r.URL.Path, "/v1/uploads/"), "/")[0]
			rs.mu.Lock()
			rs.accepted[id]++
			rs.mu.Unlock()
		}
	}))
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close()
	})
	rs.URL = hs.URL + "/v1"
	return rs
}

// acknowledged is how many parts of uploadID the server acknowledged.
func (rs *resumeServer) acknowledged(uploadID string) int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.accepted[uploadID]
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// resumeCLI is the binary against rs, with a cache directory of its own for the journals.
func resumeCLI(t *testing.T, bin string, rs *resumeServer) cli {
	c := newCLI(bin, rs.URL)
	c.env = append(c.env, "XDG_CACHE_HOME="+t.TempDir())
	return c
}

func putResumeArgs(path string) []string {
	return []string{"put", path, "--purpose", "batch", "--resume",
		"--part-size", fmt.Sprint(resumePartSize), "--concurrency", fmt.Sprint(resumeConcurrency)}
}

// waitHeld waits until the server holds one part from every sender of cmd, and kills cmd when it
// does not within waitBound.
func (rs *resumeServer) waitHeld(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	for range resumeConcurrency {
		select {
		case <-rs.held:
		case <-time.After(waitBound):
			_ = cmd.Process.Kill()
			t.Fatalf("the server held no part within %v", waitBound)
		}
	}
}

// killMidUpload starts put --resume, waits until the server acknowledged resumeHoldAfter parts
// and holds one from every sender, kills the process with SIGKILL, and returns the upload's ID.
func killMidUpload(t *testing.T, c cli, rs *resumeServer, path string) string {
	t.Helper()
	rs.seen.Store(0)
	rs.holdAfter.Store(resumeHoldAfter)
	cmd, _, stderr := c.command(append(putResumeArgs(path), "--verbose")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rs.waitHeld(t, cmd)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	rs.holdAfter.Store(0)
	m := regexp.MustCompile(`upload (upload_\w+): sending`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("the killed put named no upload; stderr:\n%s", stderr)
	}
	if got := rs.acknowledged(m[1]); got != resumeHoldAfter {
		t.Fatalf("the server acknowledged %d parts before the kill, want %d", got, resumeHoldAfter)
	}
	return m[1]
}

// checkFile downloads the File that put printed and compares it with want.
func checkFile(t *testing.T, rs *resumeServer, stdout string, want []byte) {
	t.Helper()
	fileID := strings.TrimSpace(stdout)
	client, err := uploads.NewClient(uploads.WithAPIKey(testKey), uploads.WithBaseURL(rs.URL))
	if err != nil {
		t.Fatal(err)
	}
	body, err := client.DownloadFile(context.Background(), fileID)
	if err != nil {
		t.Fatalf("download %q: %v", fileID, err)
	}
	defer body.Close()
	got, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("download %s: %v", fileID, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("File %s holds %d bytes that differ from the source's %d", fileID, len(got), len(want))
	}
}

// journals lists the journals in the CLI's cache directory.
func journals(t *testing.T, c cli) []string {
	t.Helper()
	var cache string
	for _, kv := range c.env {
		if v, ok := strings.CutPrefix(kv, "XDG_CACHE_HOME="); ok {
			cache = v
		}
	}
	found, err := filepath.Glob(filepath.Join(cache, "uploads", "resume", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func testResumeAfterKill(t *testing.T, bin string, st store.Store) {
	rs := newResumeServer(t, st)
	c := resumeCLI(t, bin, rs)
	path, data := writeRandomFile(t, "big.jsonl", resumeFileSize)
	uploadID := killMidUpload(t, c, rs, path)
	if n := len(journals(t, c)); n != 1 {
		t.Fatalf("%d journals after the kill, want 1", n)
	}

	res := c.mustRun(t, putResumeArgs(path)...)

	want := fmt.Sprintf("resuming %s: %d of %d parts already sent\n", uploadID, resumeHoldAfter, resumeParts)
	if !strings.HasPrefix(res.stderr, want) {
		t.Errorf("stderr should start with %q; got:\n%s", want, res.stderr)
	}
	checkFile(t, rs, res.stdout, data)
	// No part was sent twice: the parts held at the kill were never acknowledged.
	if got := rs.acknowledged(uploadID); got > resumeParts+resumeConcurrency || got != resumeParts {
		t.Errorf("the server acknowledged %d parts of %s, want %d (each once)", got, uploadID, resumeParts)
	}
	if n := len(journals(t, c)); n != 0 {
		t.Errorf("%d journals left after the upload completed, want none", n)
	}
}

func testResumeSourceChanged(t *testing.T, bin string, st store.Store) {
	rs := newResumeServer(t, st)
	c := resumeCLI(t, bin, rs)
	path, data := writeRandomFile(t, "big.jsonl", resumeFileSize)
	oldID := killMidUpload(t, c, rs, path)

	// A change in the middle only: the fingerprint of the first and last MiB is the same, the
	// modification time is not.
	data[resumeFileSize/2] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}

	res := c.mustRun(t, putResumeArgs(path)...)

	if !strings.HasPrefix(res.stderr, "starting a new upload: the file changed: it was modified at ") {
		t.Errorf("stderr should say the file changed; got:\n%s", res.stderr)
	}
	checkFile(t, rs, res.stdout, data)
	if got := rs.acknowledged(oldID); got != resumeHoldAfter {
		t.Errorf("%d parts of the old upload acknowledged, want the %d before the kill", got, resumeHoldAfter)
	}
}

func testResumeTornJournal(t *testing.T, bin string, st store.Store) {
	rs := newResumeServer(t, st)
	c := resumeCLI(t, bin, rs)
	path, data := writeRandomFile(t, "big.jsonl", resumeFileSize)
	uploadID := killMidUpload(t, c, rs, path)

	// The last record loses its end, as a write cut short by a crash leaves it.
	j := journals(t, c)
	if len(j) != 1 {
		t.Fatalf("%d journals after the kill, want 1", len(j))
	}
	info, err := os.Stat(j[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(j[0], info.Size()-3); err != nil {
		t.Fatal(err)
	}

	res := c.mustRun(t, putResumeArgs(path)...)

	want := fmt.Sprintf("resuming %s: %d of %d parts already sent\n", uploadID, resumeHoldAfter-1, resumeParts)
	if !strings.HasPrefix(res.stderr, want) {
		t.Errorf("stderr should start with %q; got:\n%s", want, res.stderr)
	}
	checkFile(t, rs, res.stdout, data)
	// The part whose record was torn is sent again, and only it.
	if got := rs.acknowledged(uploadID); got != resumeParts+1 {
		t.Errorf("the server acknowledged %d parts of %s, want %d", got, uploadID, resumeParts+1)
	}
}

func testResumeExpired(t *testing.T, bin string, st store.Store) {
	rs := newResumeServer(t, st)
	c := resumeCLI(t, bin, rs)
	path, data := writeRandomFile(t, "big.jsonl", resumeFileSize)
	oldID := killMidUpload(t, c, rs, path)

	// The server's clock moves past the upload's expiry; the client's does not, so only the
	// server can tell.
	rs.offset.Store(int64(2 * time.Hour))

	res := c.mustRun(t, putResumeArgs(path)...)

	// The journal says the upload has an hour left; the API refuses its first part as expired.
	want := fmt.Sprintf("resuming %s: %d of %d parts already sent\nstarting a new upload: upload %s is expired\n",
		oldID, resumeHoldAfter, resumeParts, oldID)
	if !strings.HasPrefix(res.stderr, want) {
		t.Errorf("stderr should start with %q; got:\n%s", want, res.stderr)
	}
	checkFile(t, rs, res.stdout, data)
	if got := rs.acknowledged(oldID); got != resumeHoldAfter {
		t.Errorf("%d parts of the expired upload acknowledged, want the %d before the kill", got, resumeHoldAfter)
	}
}

func testResumeInterrupt(t *testing.T, bin string, st store.Store) {
	rs := newResumeServer(t, st)
	c := resumeCLI(t, bin, rs)
	path, data := writeRandomFile(t, "big.jsonl", resumeFileSize)

	rs.holdAfter.Store(resumeHoldAfter)
	cmd, stdout, stderr := c.command(putResumeArgs(path)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rs.waitHeld(t, cmd)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := waitExit(t, cmd)
	rs.holdAfter.Store(0)

	if code != exitInterrupted {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
	}
	m := regexp.MustCompile(`^stopping; (upload_\w+) stays pending, to be resumed \(Ctrl-C again to quit\)\ninterrupted: upload (upload_\w+) stays pending until \S+; to resume it, run the same command again with --resume\n$`).
		FindStringSubmatch(stderr.String())
	if m == nil || m[1] != m[2] {
		t.Fatalf("stderr should say the upload stays pending and how to resume; got %q", stderr)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout)
	}

	res := c.mustRun(t, putResumeArgs(path)...)
	want := fmt.Sprintf("resuming %s: %d of %d parts already sent\n", m[1], resumeHoldAfter, resumeParts)
	if !strings.HasPrefix(res.stderr, want) {
		t.Errorf("stderr should start with %q; got:\n%s", want, res.stderr)
	}
	checkFile(t, rs, res.stdout, data)
	if got := rs.acknowledged(m[1]); got != resumeParts {
		t.Errorf("the server acknowledged %d parts of %s, want %d", got, m[1], resumeParts)
	}
}
