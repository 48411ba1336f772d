package uploads

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/sqlitestore"
)

// The client against the reference server that injects faults and limits rates: its retry rules
// hold against the answers the live service gives under load, not only against a fake.

const faultKey = "sk-faults-0123456789abcdef"

// faultyServer is the reference server on a SQLite store in a temporary directory, over loopback,
// with a settable clock.
type faultyServer struct {
	t     *testing.T
	URL   string
	store *sqlitestore.Store

	mu       sync.Mutex
	now      time.Time
	requests int                    // requests that reached the server
	faults   []server.InjectedFault // faults it injected
}

func newFaultyServer(t *testing.T, f server.Faults, limit server.RateLimit) *faultyServer {
	t.Helper()
	fs := &faultyServer{t: t, now: time.Unix(1758145015, 0)}
	st, err := sqlitestore.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	f.OnInject = func(inj server.InjectedFault) {
		fs.mu.Lock()
		defer fs.mu.Unlock()
		fs.faults = append(fs.faults, inj)
	}
	srv, err := server.New(server.Config{
		Store: st, APIKeys: []string{faultKey}, Now: fs.clock, SweepInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Faults: f, RateLimit: limit,
	})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fs.mu.Lock()
		fs.requests++
		fs.mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close()
		_ = st.Close()
	})
	fs.URL, fs.store = hs.URL+"/v1", st
	return fs
}

func (fs *faultyServer) clock() time.Time {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.now
}

func (fs *faultyServer) advance(d time.Duration) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.now = fs.now.Add(d)
}

// counts are the requests that reached the server and the faults it injected so far.
func (fs *faultyServer) counts() (requests int, faults []server.FaultKind) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.faults {
		faults = append(faults, f.Kind)
	}
	return fs.requests, faults
}

// upload is what the store holds of upload id.
func (fs *faultyServer) upload(id string) store.Upload {
	fs.t.Helper()
	d := sha256.Sum256([]byte(faultKey))
	u, err := fs.store.GetUpload(context.Background(), hex.EncodeToString(d[:]), id, fs.clock().Unix())
	if err != nil {
		fs.t.Fatalf("get upload %s: %v", id, err)
	}
	return u
}

// client is a client of fs that checks every exchange against the spec and records its waits
// instead of sleeping; with advance, each wait also moves the server's clock on by as much.
func (fs *faultyServer) client(advance bool, opts ...Option) (*Client, *sleepRecorder) {
	t := fs.t
	t.Helper()
	clearEnv(t)
	hc := &http.Client{Transport: validator(t).RoundTripper(http.DefaultTransport, specReport(t))}
	c, err := NewClient(append([]Option{WithAPIKey(faultKey), WithBaseURL(fs.URL), WithHTTPClient(hc)}, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	rec := &sleepRecorder{}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		if advance {
			fs.advance(d)
		}
		return rec.sleep(ctx, d)
	}
	c.jitter = func() float64 { return 0 }
	return c, rec
}

// pendingUpload creates an upload of n bytes with a client that asks for no fault.
func (fs *faultyServer) pendingUpload(n int64) string {
	fs.t.Helper()
	c, _ := fs.client(false, WithHeader(server.FaultHeader, "none"))
	up, err := c.Create(context.Background(), CreateParams{Filename: "a.jsonl", Purpose: PurposeBatch, Bytes: n, MIMEType: "text/jsonl"})
	if err != nil {
		fs.t.Fatalf("create: %v", err)
	}
	return up.ID
}

// Every fault, asked for on every attempt: the client tries three times (two retries by default),
// waits what a 429 asks for and backs off otherwise, and returns the last error, typed for an
// answer. Nothing reached a handler, so the upload is still pending.
func TestClientRetriesServerFaults(t *testing.T) {
	const retryAfter = 1500 * time.Millisecond
	backoffs := []time.Duration{500 * time.Millisecond, time.Second}
	for _, tt := range []struct {
		kind      server.FaultKind
		status    int
		errType   string
		wantWaits []time.Duration
	}{
		{server.FaultRateLimited, 429, "requests", []time.Duration{retryAfter, retryAfter}},
		{server.FaultInternal, 500, "server_error", backoffs},
		{server.FaultBadGateway, 502, "cf_bad_gateway", backoffs},
		{server.FaultUnavailable, 503, "server_error", backoffs},
		{server.FaultReset, 0, "", backoffs},
	} {
		t.Run(string(tt.kind), func(t *testing.T) {
			fs := newFaultyServer(t, server.Faults{AllowHeader: true, RetryAfter: retryAfter}, server.RateLimit{})
			id := fs.pendingUpload(3)
			before, _ := fs.counts()
			c, rec := fs.client(false, WithHeader(server.FaultHeader, string(tt.kind)))

			_, err := c.Cancel(context.Background(), id)
			if err == nil {
				t.Fatal("cancel succeeded under a fault on every attempt")
			}
			var apiErr *APIError
			if tt.status == 0 {
				if errors.As(err, &apiErr) {
					t.Errorf("a dropped connection became an API error: %v", err)
				}
			} else if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status || apiErr.Type != tt.errType {
				t.Errorf("err = %v (%#v), want a %d %s", err, apiErr, tt.status, tt.errType)
			}
			if !strings.Contains(err.Error(), "gave up after 3 attempts") {
				t.Errorf("err = %v, want it to say it gave up after 3 attempts", err)
			}
			if got := rec.recorded(); !slices.Equal(got, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", got, tt.wantWaits)
			}
			after, faults := fs.counts()
			if after-before != 3 || len(faults) != 3 {
				t.Errorf("the server saw %d attempts and injected %d faults, want 3 and 3", after-before, len(faults))
			}
			if u := fs.upload(id); u.Status != store.StatusPending {
				t.Errorf("upload is %s after faults before the handler, want pending", u.Status)
			}
		})
	}
}

// oneFault asks for kind on the first attempt of each call only: the middleware sees every attempt.
func oneFault(kind server.FaultKind) Option {
	var mu sync.Mutex
	seen := map[string]bool{}
	return WithMiddleware(func(req *http.Request, next MiddlewareNext) (*http.Response, error) {
		key := req.Method + " " + req.URL.Path
		mu.Lock()
		first := !seen[key]
		seen[key] = true
		mu.Unlock()
		if first {
			req.Header.Set(server.FaultHeader, string(kind))
		}
		return next(req)
	})
}

// One fault, then a good answer: the call succeeds after one retry, the part included, whose
// body is rewound and sent again whole.
func TestClientRecoversFromOneFault(t *testing.T) {
	for _, kind := range []server.FaultKind{server.FaultRateLimited, server.FaultInternal, server.FaultBadGateway,
		server.FaultUnavailable, server.FaultReset} {
		t.Run(string(kind), func(t *testing.T) {
			fs := newFaultyServer(t, server.Faults{AllowHeader: true, RetryAfter: 40 * time.Millisecond}, server.RateLimit{})
			id := fs.pendingUpload(5)
			c, rec := fs.client(false, oneFault(kind))
			ctx := context.Background()
			p, err := c.AddPart(ctx, id, bytes.NewReader([]byte("hello")))
			if err != nil {
				t.Fatalf("add part: %v", err)
			}
			up, err := c.Complete(ctx, id, CompleteParams{PartIDs: []string{p.ID}})
			if err != nil || up.Status != UploadStatusCompleted || up.File == nil || up.File.Bytes != 5 {
				t.Fatalf("complete: %v, %+v", err, up)
			}
			want := 500 * time.Millisecond
			if kind == server.FaultRateLimited {
				want = 40 * time.Millisecond
			}
			if got := rec.recorded(); !slices.Equal(got, []time.Duration{want, want}) {
				t.Errorf("waits = %v, want %v twice", got, want)
			}
			if _, faults := fs.counts(); len(faults) != 2 {
				t.Errorf("faults injected = %v, want one per call", faults)
			}
		})
	}
}

// Where the rules allow no retry, there is none: a part that cannot be rewound, retries turned
// off, and a wait asked for that would pass the context's deadline.
func TestClientDoesNotRetryAgainstServerFaults(t *testing.T) {
	fs := newFaultyServer(t, server.Faults{AllowHeader: true, RetryAfter: 30 * time.Second}, server.RateLimit{})
	id := fs.pendingUpload(5)
	attempts := func(f func()) int {
		before, _ := fs.counts()
		f()
		after, _ := fs.counts()
		return after - before
	}

	c, rec := fs.client(false, WithHeader(server.FaultHeader, string(server.FaultUnavailable)))
	n := attempts(func() {
		_, err := c.AddPart(context.Background(), id, io.MultiReader(strings.NewReader("hello")))
		if err == nil || !strings.Contains(err.Error(), "cannot be rewound") {
			t.Errorf("one-shot part under 503: %v, want an error saying it cannot be rewound", err)
		}
	})
	if n != 1 || len(rec.recorded()) != 0 {
		t.Errorf("a part that cannot be rewound was sent %d times, with waits %v", n, rec.recorded())
	}
	n = attempts(func() {
		_, err := c.Cancel(context.Background(), id)
		if statusOf(err) != http.StatusServiceUnavailable {
			t.Errorf("cancel: %v", err)
		}
	})
	if n != 3 {
		t.Errorf("cancel under 503 was sent %d times, want 3", n)
	}

	off, _ := fs.client(false, WithHeader(server.FaultHeader, string(server.FaultReset)), WithMaxRetries(0))
	if n := attempts(func() { _, _ = off.Cancel(context.Background(), id) }); n != 1 {
		t.Errorf("with retries off, cancel was sent %d times", n)
	}

	limited, rec2 := fs.client(false, WithHeader(server.FaultHeader, string(server.FaultRateLimited)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n = attempts(func() {
		_, err := limited.Cancel(ctx, id)
		if !IsRateLimited(err) || !strings.Contains(err.Error(), "would pass the context's deadline") {
			t.Errorf("429 asking for 30s with 10s left: %v", err)
		}
	})
	if n != 1 || len(rec2.recorded()) != 0 {
		t.Errorf("429 asking for more than the deadline allows: %d attempts, waits %v", n, rec2.recorded())
	}
	if u := fs.upload(id); u.Status != store.StatusPending {
		t.Errorf("upload is %s, want pending", u.Status)
	}
}

// writeRandomFile writes n random bytes to a new file and returns its path and content.
func writeRandomFile(t *testing.T, n int, seed uint64) (string, []byte) {
	t.Helper()
	content := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{byte(seed)}).Read(content)
	path := filepath.Join(t.TempDir(), "train.jsonl")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, content
}

// fileContent is the content of the File of a completed upload, read from the store.
func (fs *faultyServer) fileContent(u *Upload) []byte {
	fs.t.Helper()
	d := sha256.Sum256([]byte(faultKey))
	_, rc, err := fs.store.OpenFile(context.Background(), hex.EncodeToString(d[:]), u.File.ID, fs.clock().Unix())
	if err != nil {
		fs.t.Fatalf("open file: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		fs.t.Fatalf("read file: %v", err)
	}
	return b
}

// UploadFile completes under 503:20% and reset:5%, with the content intact. Every fault costs
// exactly one more attempt and one wait: the server saw one request per step plus one per fault.
func TestUploadFileUnderRandomFaults(t *testing.T) {
	fs := newFaultyServer(t, server.Faults{Seed: 20, Rules: []server.FaultRule{
		{Kind: server.FaultUnavailable, Percent: 20}, {Kind: server.FaultReset, Percent: 5},
	}}, server.RateLimit{})
	// Two retries fail a request three faults in a row: one in 64 at 25%, too often for a test
	// of 20-odd requests. Twelve keep the rules and make a failed upload about one in 3 million
	// (0.25^13 per request); the seed fixes the faults' sequence, but not which request meets
	// which, as concurrent parts arrive in any order.
	c, rec := fs.client(false, WithMaxRetries(12))
	path, content := writeRandomFile(t, 1_200_000, 4)
	up, err := c.UploadFile(context.Background(), path, UploadFileParams{
		Purpose: PurposeFineTune, PartSize: 64 << 10, Concurrency: 4, MD5: true,
	})
	if err != nil {
		t.Fatalf("upload file under faults: %v", err)
	}
	if got := fs.fileContent(up); !bytes.Equal(got, content) {
		t.Fatalf("the File holds %d bytes that differ from the %d uploaded", len(got), len(content))
	}
	requests, faults := fs.counts()
	parts := (len(content) + 64<<10 - 1) / (64 << 10)
	if len(faults) == 0 {
		t.Fatal("no fault was injected: the test tested nothing")
	}
	if requests != 2+parts+len(faults) || len(rec.recorded()) != len(faults) {
		t.Errorf("%d requests and %d waits for %d parts and %d faults; want %d requests and %d waits",
			requests, len(rec.recorded()), parts, len(faults), 2+parts+len(faults), len(faults))
	}
	t.Logf("%d faults injected: %v", len(faults), faults)
}

// Against the server's rate limits, the client waits exactly what each 429 asks for (and the
// server's clock moves on by that much), then gets through: requests per minute, then part
// bytes per minute during an UploadFile.
func TestClientWaitsOutRateLimits(t *testing.T) {
	fs := newFaultyServer(t, server.Faults{}, server.RateLimit{RequestsPerMinute: 3})
	c, rec := fs.client(true)
	ctx := context.Background()
	for i := range 4 {
		if _, err := c.Create(ctx, CreateParams{Filename: "a.jsonl", Purpose: PurposeBatch, Bytes: 1, MIMEType: "text/jsonl"}); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	if got := rec.recorded(); !slices.Equal(got, []time.Duration{20 * time.Second}) {
		t.Errorf("waits = %v, want one of 20s (one request every 20s after the first three)", got)
	}
	strict, _ := fs.client(false, WithMaxRetries(0))
	if _, err := strict.Create(ctx, CreateParams{Filename: "a.jsonl", Purpose: PurposeBatch, Bytes: 1, MIMEType: "text/jsonl"}); !IsRateLimited(err) {
		t.Errorf("over the limit without retries: %v, want a rate-limit error", err)
	} else if e := (*APIError)(nil); errors.As(err, &e) && (e.Type != "requests" || e.Code != "rate_limit_exceeded") {
		t.Errorf("429 error = %+v", e)
	}

	fs = newFaultyServer(t, server.Faults{}, server.RateLimit{PartBytesPerMinute: 120_000})
	var mu sync.Mutex
	var asked []time.Duration
	record := WithMiddleware(func(req *http.Request, next MiddlewareNext) (*http.Response, error) {
		resp, err := next(req)
		if err == nil && resp.StatusCode == http.StatusTooManyRequests {
			ms, _ := strconv.Atoi(resp.Header.Get("retry-after-ms"))
			mu.Lock()
			asked = append(asked, time.Duration(ms)*time.Millisecond)
			mu.Unlock()
		}
		return resp, err
	})
	c, rec = fs.client(true, record, WithMaxRetries(5))
	path, content := writeRandomFile(t, 300_000, 5)
	up, err := c.UploadFile(ctx, path, UploadFileParams{Purpose: PurposeFineTune, PartSize: 50_000, Concurrency: 1})
	if err != nil {
		t.Fatalf("upload file under a part-bytes limit: %v", err)
	}
	if got := fs.fileContent(up); !bytes.Equal(got, content) {
		t.Fatal("the File differs from the file")
	}
	if len(asked) == 0 || !slices.Equal(rec.recorded(), asked) {
		t.Errorf("waits = %v, the 429s asked for %v", rec.recorded(), asked)
	}
}

// Lost answers, from the server's reset-after: the call ran, the answer never came. Cancel's
// retry finds the upload cancelled and succeeds; Complete's retry finds it completed and says
// so with ErrCompletedEarlier; either way the store holds what the call did. UploadFile whose
// parts lose their answers sends them again and completes with the content intact.
func TestClientRecoversLostAnswers(t *testing.T) {
	fs := newFaultyServer(t, server.Faults{AllowHeader: true}, server.RateLimit{})
	ctx := context.Background()
	c, _ := fs.client(false, oneFault(server.FaultResetAfter))

	id := fs.pendingUpload(5)
	up, err := c.Cancel(ctx, id)
	if err != nil || up.Status != UploadStatusCancelled {
		t.Errorf("cancel whose answer was lost: %v, %+v", err, up)
	}
	if u := fs.upload(id); u.Status != store.StatusCancelled {
		t.Errorf("store: upload %s, want cancelled", u.Status)
	}

	id = fs.pendingUpload(5)
	plain, _ := fs.client(false)
	p, err := plain.AddPart(ctx, id, bytes.NewReader([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Complete(ctx, id, CompleteParams{PartIDs: []string{p.ID}})
	if !errors.Is(err, ErrCompletedEarlier) {
		t.Errorf("complete whose answer was lost: %v, want ErrCompletedEarlier", err)
	}
	if u := fs.upload(id); u.Status != store.StatusCompleted || u.FileID == "" {
		t.Errorf("store: upload %s with file %q, want completed with a File", u.Status, u.FileID)
	}

	fs = newFaultyServer(t, server.Faults{Seed: 5, Operations: []string{"addUploadPart"},
		Rules: []server.FaultRule{{Kind: server.FaultResetAfter, Percent: 30}}}, server.RateLimit{})
	// Twelve retries: at 30% a part then fails about one time in 6 million (0.3^13).
	c, _ = fs.client(false, WithMaxRetries(12))
	path, content := writeRandomFile(t, 600_000, 6)
	done, err := c.UploadFile(ctx, path, UploadFileParams{Purpose: PurposeFineTune, PartSize: 64 << 10, Concurrency: 3, MD5: true})
	if err != nil {
		t.Fatalf("upload file whose parts lose answers: %v", err)
	}
	if got := fs.fileContent(done); !bytes.Equal(got, content) {
		t.Fatal("the File differs from the file")
	}
	if _, faults := fs.counts(); len(faults) == 0 {
		t.Fatal("no answer was lost: the test tested nothing")
	}
}

// A slow answer past the attempt timeout: the attempt is given up and retried, and the request
// held by the server never ran, so the retry does the work once.
func TestClientTimesOutSlowAnswers(t *testing.T) {
	fs := newFaultyServer(t, server.Faults{AllowHeader: true, SlowDelay: time.Hour}, server.RateLimit{})
	id := fs.pendingUpload(3)
	before, _ := fs.counts()
	c, rec := fs.client(false, oneFault(server.FaultSlow), WithTimeout(time.Second))
	up, err := c.Cancel(context.Background(), id)
	if err != nil || up.Status != UploadStatusCancelled {
		t.Fatalf("cancel after a slow attempt: %v, %+v", err, up)
	}
	after, faults := fs.counts()
	if after-before != 2 || !slices.Equal(faults, []server.FaultKind{server.FaultSlow}) || len(rec.recorded()) != 1 {
		t.Errorf("%d attempts, faults %v, waits %v; want 2 attempts after one slow fault", after-before, faults, rec.recorded())
	}
}

// UploadFile ends with the right File when answers are lost anywhere: under reset-after on 15%
// of all requests, and when every answer of Complete is lost (its retry is refused as already
// completed, and the File is found in the Files list).
func TestUploadFileUnderLostAnswers(t *testing.T) {
	for name, f := range map[string]server.Faults{
		"random":   {Seed: 11, Rules: []server.FaultRule{{Kind: server.FaultResetAfter, Percent: 15}}},
		"complete": {Operations: []string{"completeUpload"}, Rules: []server.FaultRule{{Kind: server.FaultResetAfter, Percent: 100}}},
	} {
		t.Run(name, func(t *testing.T) {
			fs := newFaultyServer(t, f, server.RateLimit{})
			c, _ := fs.client(false, WithMaxRetries(8))
			path, content := writeRandomFile(t, 500_000, 7)
			up, err := c.UploadFile(context.Background(), path, UploadFileParams{
				Purpose: PurposeFineTune, PartSize: 64 << 10, Concurrency: 3, MD5: true,
			})
			if err != nil {
				t.Fatalf("upload file under lost answers: %v", err)
			}
			if up.Status != UploadStatusCompleted || up.File == nil {
				t.Fatalf("upload = %+v, want completed with its File", up)
			}
			if got := fs.fileContent(up); !bytes.Equal(got, content) {
				t.Fatal("the File differs from the file")
			}
			if u := fs.upload(up.ID); u.Status != store.StatusCompleted || u.FileID != up.File.ID {
				t.Errorf("store: upload %s with File %q, want completed with %q", u.Status, u.FileID, up.File.ID)
			}
			if _, faults := fs.counts(); len(faults) == 0 {
				t.Fatal("no answer was lost: the test tested nothing")
			}
		})
	}
}
