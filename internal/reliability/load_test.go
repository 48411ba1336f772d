package reliability

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uploadkit/uploads"
)

// loadConfig sizes TestLoad. UPLOADS_LONG=1 runs a heavier variant.
type loadConfig struct {
	clients, lifecycles, maxParts, maxPartSize int
}

func loadSize() loadConfig {
	if os.Getenv("UPLOADS_LONG") == "1" {
		return loadConfig{clients: 128, lifecycles: 10, maxParts: 8, maxPartSize: 64 << 10}
	}
	return loadConfig{clients: 64, lifecycles: 3, maxParts: 4, maxPartSize: 16 << 10}
}

// outcome is what a client believes became of one of its uploads.
type outcome struct {
	uploadID string
	status   string   // completed or cancelled
	partIDs  []string // the parts of the file, in order, when completed
	whole    []byte   // the file's content, when completed
}

// loadCounters count what must stay zero.
type loadCounters struct {
	serverErrors atomic.Int64 // answers with a 5xx
	transport    atomic.Int64 // attempts that failed without an answer
	attempts     atomic.Int64

	mu     sync.Mutex
	failed []string // the first few of those failures, to say what they were
}

// middleware counts every attempt of a client.
func (c *loadCounters) middleware(req *http.Request, next uploads.MiddlewareNext) (*http.Response, error) {
	c.attempts.Add(1)
	resp, err := next(req)
	switch {
	case err != nil:
		c.transport.Add(1)
		c.note(fmt.Sprintf("%s %s: %v", req.Method, req.URL.Path, err))
	case resp.StatusCode >= 500:
		c.serverErrors.Add(1)
		c.note(fmt.Sprintf("%s %s: status %d", req.Method, req.URL.Path, resp.StatusCode))
	}
	return resp, err
}

// note keeps the first few failures for the test's report.
func (c *loadCounters) note(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.failed) < 5 {
		c.failed = append(c.failed, s)
	}
}

// TestLoad runs 64 clients of the project (uploads.NewClient) at once against one server on
// loopback, each through whole lifecycles: create, parts in parallel, then complete (with MD5,
// and download) or cancel at random, sometimes both at once. It checks: no 5xx and no transport
// error; every part a client got an id for is in its file, in order; every upload ends as its
// client believes (completed and byte-identical, or cancelled), none both; and, once the server
// and the clients are closed, no goroutine and no file descriptor is left behind.
func TestLoad(t *testing.T) {
	cfg := loadSize()
	goroutinesBefore, fdsBefore := runtime.NumGoroutine(), openFDs(t)

	ts := startServer(t)
	counters := &loadCounters{}
	var (
		mu       sync.Mutex
		outcomes []outcome
		races    int
	)
	transports := make([]*http.Transport, cfg.clients)
	var wg sync.WaitGroup
	for n := range cfg.clients {
		transports[n] = &http.Transport{MaxIdleConnsPerHost: 4}
		client, err := uploads.NewClient(
			uploads.WithAPIKey([]string{keyA, keyB}[n%2]),
			uploads.WithBaseURL(ts.URL),
			uploads.WithHTTPClient(&http.Client{Transport: transports[n]}),
			uploads.WithMiddleware(counters.middleware),
			// The per-attempt and stall timeouts are not what is tested: 64 clients under the race detector on
			// a loaded 2-core machine can wait long for an answer. A server that never answers
			// still fails the test, through this timeout or go test's.
			uploads.WithTimeout(5*time.Minute),
			uploads.WithStallTimeout(5*time.Minute),
		)
		if err != nil {
			t.Fatalf("new client: %v", err)
		}
		rng := rand.New(rand.NewPCG(uint64(n), 42))
		wg.Go(func() {
			for l := range cfg.lifecycles {
				out, raced, err := lifecycle(t.Context(), client, rng, cfg, fmt.Sprintf("c%d-l%d", n, l))
				if err != nil {
					t.Errorf("client %d, lifecycle %d: %v", n, l, err)
					return
				}
				mu.Lock()
				outcomes = append(outcomes, out)
				if raced {
					races++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	if n := counters.serverErrors.Load(); n != 0 {
		t.Errorf("%d answers were 5xx", n)
	}
	if n := counters.transport.Load(); n != 0 {
		t.Errorf("%d attempts failed without an answer", n)
	}
	if len(counters.failed) > 0 {
		t.Errorf("the first failures: %q", counters.failed)
	}
	in := openInspector(t, ts.dir)
	in.checkInvariants(t, true)
	var completed, cancelled int
	for _, o := range outcomes {
		status := in.strings(t, `SELECT status FROM uploads WHERE id = ?`, o.uploadID)
		if len(status) != 1 || status[0] != o.status {
			t.Errorf("upload %s is %v in the store, its client believes %s", o.uploadID, status, o.status)
			continue
		}
		switch o.status {
		case "completed":
			completed++
			got := in.strings(t, `SELECT fp.part_id FROM file_parts fp JOIN uploads u ON u.file_id = fp.file_id
				WHERE u.id = ? ORDER BY fp.seq`, o.uploadID)
			if !slices.Equal(got, o.partIDs) {
				t.Errorf("upload %s: its file holds parts %v, its client sent %v", o.uploadID, got, o.partIDs)
			}
		case "cancelled":
			cancelled++
			if got := in.strings(t, `SELECT id FROM parts WHERE upload_id = ?`, o.uploadID); len(got) != 0 {
				t.Errorf("cancelled upload %s keeps parts %v", o.uploadID, got)
			}
		}
	}
	if pending := in.strings(t, `SELECT id FROM uploads WHERE status = 'pending'`); len(pending) != 0 {
		t.Errorf("uploads left pending: %v", pending)
	}
	if want := cfg.clients * cfg.lifecycles; len(outcomes) != want {
		t.Errorf("%d lifecycles finished, want %d", len(outcomes), want)
	}
	t.Logf("%d lifecycles, %d attempts: %d completed, %d cancelled, %d cancel/complete races",
		len(outcomes), counters.attempts.Load(), completed, cancelled, races)

	// Close everything, then wait for the goroutines and descriptors to go.
	in.db.Close()
	ts.stop()
	for _, tr := range transports {
		tr.CloseIdleConnections()
	}
	settle(t, goroutinesBefore, fdsBefore)
}

// lifecycle runs one upload from create to an end state and says what the client believes
// became of it. raced is true when a cancel and a completion were sent together.
func lifecycle(ctx context.Context, c *uploads.Client, rng *rand.Rand, cfg loadConfig, name string) (out outcome, raced bool, err error) {
	nParts := 1 + rng.IntN(cfg.maxParts)
	parts := make([][]byte, nParts)
	var size int64
	for i := range parts {
		parts[i] = make([]byte, 1+rng.IntN(cfg.maxPartSize))
		for j := range parts[i] {
			parts[i][j] = byte(rng.Uint32())
		}
		size += int64(len(parts[i]))
	}
	up, err := c.Create(ctx, uploads.CreateParams{Filename: name + ".jsonl", Purpose: uploads.PurposeFineTune, Bytes: size, MIMEType: "text/jsonl"})
	if err != nil {
		return out, false, err
	}
	out.uploadID = up.ID

	// Parts in parallel, and in one lifecycle out of ten a cancel among them.
	action := rng.IntN(10) // 0-1: cancel after the parts, 2: cancel during them, 3: cancel and complete together, else complete
	ids := make([]string, nParts)
	var wg sync.WaitGroup
	errs := make([]error, nParts)
	for i, data := range parts {
		wg.Go(func() {
			p, err := c.AddPart(ctx, up.ID, bytes.NewReader(data))
			if err != nil {
				errs[i] = err
				return
			}
			ids[i] = p.ID
		})
	}
	if action == 2 {
		_, cerr := c.Cancel(ctx, up.ID)
		wg.Wait()
		if cerr != nil {
			return out, false, fmt.Errorf("cancel during the parts: %w", cerr)
		}
		for _, err := range errs {
			if err != nil && statusOf(err) != http.StatusBadRequest {
				return out, false, fmt.Errorf("a part that lost to a cancel: %v, want a 400", err)
			}
		}
		out.status = "cancelled"
		return out, false, nil
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return out, false, err
	}

	whole := bytes.Join(parts, nil)
	sum := md5.Sum(whole)
	switch {
	case action <= 1:
		got, err := c.Cancel(ctx, up.ID)
		if err != nil {
			return out, false, err
		}
		if got.Status != uploads.UploadStatusCancelled {
			return out, false, fmt.Errorf("cancel answered status %s", got.Status)
		}
		// No part may be added after a cancel.
		if _, err := c.AddPart(ctx, up.ID, bytes.NewReader([]byte("late"))); statusOf(err) != http.StatusBadRequest {
			return out, false, fmt.Errorf("a part after the cancel: %v, want a 400", err)
		}
		out.status = "cancelled"
		return out, false, nil
	case action == 3:
		var done *uploads.Upload
		var cerr, xerr error
		var race sync.WaitGroup
		race.Go(func() {
			done, cerr = c.Complete(ctx, up.ID, uploads.CompleteParams{PartIDs: ids, MD5: hex.EncodeToString(sum[:])})
		})
		race.Go(func() { _, xerr = c.Cancel(ctx, up.ID) })
		race.Wait()
		switch {
		case cerr == nil && xerr == nil:
			return out, true, errors.New("both the completion and the cancel succeeded")
		case cerr != nil && xerr != nil:
			return out, true, fmt.Errorf("neither the completion (%v) nor the cancel (%v) succeeded", cerr, xerr)
		case xerr == nil:
			if statusOf(cerr) != http.StatusBadRequest {
				return out, true, fmt.Errorf("the completion that lost to a cancel: %v, want a 400", cerr)
			}
			out.status = "cancelled"
			return out, true, nil
		default:
			if statusOf(xerr) != http.StatusBadRequest {
				return out, true, fmt.Errorf("the cancel that lost to a completion: %v, want a 400", xerr)
			}
			out.status, out.partIDs, out.whole = "completed", ids, whole
			return out, true, checkFile(ctx, c, done, whole)
		}
	default:
		done, err := c.Complete(ctx, up.ID, uploads.CompleteParams{PartIDs: ids, MD5: hex.EncodeToString(sum[:])})
		if err != nil {
			return out, false, err
		}
		out.status, out.partIDs, out.whole = "completed", ids, whole
		return out, false, checkFile(ctx, c, done, whole)
	}
}

// checkFile checks a completed upload's file downloads as want.
func checkFile(ctx context.Context, c *uploads.Client, done *uploads.Upload, want []byte) error {
	if done.Status != uploads.UploadStatusCompleted || done.File == nil {
		return fmt.Errorf("completion answered status %s, file %v", done.Status, done.File)
	}
	rc, err := c.DownloadFile(ctx, done.File.ID)
	if err != nil {
		return err
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("download %s: %w", done.File.ID, err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("download %s: %d bytes that differ from the %d sent", done.File.ID, len(got), len(want))
	}
	return nil
}

// statusOf is the status of the *uploads.APIError in err, or 0.
func statusOf(err error) int {
	var apiErr *uploads.APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors here: %v", err)
	}
	return len(entries)
}

// settle waits, for up to ten seconds, for the goroutines and file descriptors to come back to
// what they were, and fails the test with a dump of the goroutines if they do not.
func settle(t *testing.T, goroutines, fds int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, f := runtime.NumGoroutine(), openFDs(t)
		if g <= goroutines && f <= fds {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("leak: %d goroutines (%d before), %d file descriptors (%d before)\n%s", g, goroutines, f, fds, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
