package reliability

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/uploadkit/uploads/conformance"
	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store/sqlitestore"
)

// Keys of the test servers: three owners (keyC only fills its storage quota).
const (
	keyA = "sk-reliability-alpha-0123456789"
	keyB = "sk-reliability-bravo-0123456789"
	keyC = "sk-reliability-charlie-01234567"
)

// maxHeaderBytes is what cmd/uploads-server allows for a request's headers.
const maxHeaderBytes = 64 << 10

// clock is a settable clock for server.Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1758145015, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testServer is the reference server on the real SQLite store in a temporary directory, served by
// a real http.Server on loopback configured like cmd/uploads-server, and checked against the spec
// (a refused request is fine; an accepted bad one, or a response that breaks the spec, fails).
type testServer struct {
	t     testing.TB
	dir   string
	clock *clock
	store *sqlitestore.Store
	srv   *server.Server
	http  *http.Server
	URL   string // base URL of the API, ending in /v1
	done  chan struct{}
	// limited says the server has a small upload limit (withStorageLimits), for the fixtures
	// that fill it.
	limited bool

	mu       sync.Mutex
	idleCond *sync.Cond
	inFlight int // requests whose handler has not returned yet
}

// track counts the requests being served, for waitIdle.
func (ts *testServer) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.inFlight++
		ts.mu.Unlock()
		defer func() {
			ts.mu.Lock()
			ts.inFlight--
			ts.idleCond.Broadcast()
			ts.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
}

// waitIdle waits until no handler is running, and fails the test if one is still running after
// idleTimeout: a client may read a whole answer before the handler that wrote it has returned (and
// before the spec check after it has run), but a handler must not outlive its exchange for long.
func (ts *testServer) waitIdle(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(idleTimeout)
	stop := time.AfterFunc(idleTimeout, func() {
		ts.mu.Lock()
		ts.idleCond.Broadcast()
		ts.mu.Unlock()
	})
	defer stop.Stop()
	ts.mu.Lock()
	for ts.inFlight > 0 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			ts.mu.Unlock()
			t.Fatalf("%d handler(s) still running %v after the answer was read; goroutines:\n%s", ts.inFlight, idleTimeout, buf[:n])
		}
		ts.idleCond.Wait()
	}
	ts.mu.Unlock()
	// The store's background remover deletes the files of cancelled uploads, deleted Files and
	// parts a completion left out after the answer. Idle means that work is done too, so that
	// what a test reads of the disk next is not changing under it.
	if ts.http != nil {
		if err := ts.store.Settle(context.Background()); err != nil {
			t.Fatalf("settle the store: %v", err)
		}
	}
}

// idleTimeout bounds waitIdle.
const idleTimeout = 10 * time.Second

// serverConfig is what a test may change about its server.
type serverConfig struct {
	readTimeout       time.Duration
	readHeaderTimeout time.Duration
	maxPart           int64
	maxUpload, quota  int64       // the server's upload limit and storage quota (0: 8 GiB, none)
	minFree           int64       // the server's free-space floor (0: none)
	dir               string      // the store's directory; a new temporary one when empty
	report            func(error) // where spec violations go; the test's Errorf when nil
}

type serverOption func(*serverConfig)

// withTimeouts sets the http.Server's read timeouts, for tests of slow clients.
func withTimeouts(header, body time.Duration) serverOption {
	return func(c *serverConfig) { c.readHeaderTimeout, c.readTimeout = header, body }
}

// withMaxPart lowers the part limit so tests can cross it without sending 64 MiB.
func withMaxPart(n int64) serverOption { return func(c *serverConfig) { c.maxPart = n } }

// withStorageLimits sets the upload limit and the storage quota of each key.
func withStorageLimits(maxUpload, quota int64) serverOption {
	return func(c *serverConfig) { c.maxUpload, c.quota = maxUpload, quota }
}

// withStoreIn keeps the store in dir, with a free-space floor of minFree bytes.
func withStoreIn(dir string, minFree int64) serverOption {
	return func(c *serverConfig) { c.dir, c.minFree = dir, minFree }
}

// withReport sends the spec violations the conformance wrapper finds to report.
func withReport(report func(error)) serverOption { return func(c *serverConfig) { c.report = report } }

func startServer(t testing.TB, opts ...serverOption) *testServer {
	t.Helper()
	cfg := serverConfig{readHeaderTimeout: 10 * time.Second, readTimeout: time.Minute}
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	ts := &testServer{t: t, dir: cfg.dir, clock: newClock(), done: make(chan struct{}), limited: cfg.maxUpload > 0}
	if ts.dir == "" {
		ts.dir = t.TempDir()
	}
	ts.idleCond = sync.NewCond(&ts.mu)
	st, err := sqlitestore.Open(ctx, ts.dir)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	srv, err := server.New(server.Config{
		Store:             st,
		APIKeys:           []string{keyA, keyB, keyC},
		Now:               ts.clock.Now,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		MaxPartBytes:      cfg.maxPart,
		MaxUploadBytes:    cfg.maxUpload,
		StorageQuotaBytes: cfg.quota,
		MinFreeBytes:      cfg.minFree,
		SweepInterval:     -1,
	})
	if err != nil {
		st.Close()
		t.Fatalf("new server: %v", err)
	}
	v, err := conformance.New(ctx)
	if err != nil {
		t.Fatalf("conformance validator: %v", err)
	}
	report := cfg.report
	if report == nil {
		report = func(err error) { t.Errorf("conformance: %v", err) }
	}
	h := v.Handler(srv, report)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ts.store, ts.srv = st, srv
	ts.http = &http.Server{
		Handler:           ts.track(h),
		ReadHeaderTimeout: cfg.readHeaderTimeout,
		ReadTimeout:       cfg.readTimeout,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(slog.New(slog.NewTextHandler(io.Discard, nil)).Handler(), slog.LevelWarn),
	}
	ts.URL = "http://" + ln.Addr().String() + "/v1"
	go func() {
		defer close(ts.done)
		if err := ts.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(ts.stop)
	return ts
}

// stop closes the HTTP server, the server and the store.
func (ts *testServer) stop() {
	if ts.http == nil {
		return
	}
	_ = ts.http.Close()
	<-ts.done
	_ = ts.srv.Close()
	if err := ts.store.Close(); err != nil {
		ts.t.Errorf("close store: %v", err)
	}
	ts.http = nil
}
