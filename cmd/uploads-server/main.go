// Command uploads-server serves the Uploads API, so that clients can be developed and tested
// without the live service: on the embedded SQLite store by default, or, with -store postgres, on
// PostgreSQL and an S3 bucket shared by any number of replicas.
//
//	uploads-server [-addr 127.0.0.1:8080] [-data ./data] [-api-key KEY[,KEY...]] [-record DIR]
//	               [-store sqlite|postgres -database-url URL -s3-endpoint HOST:PORT -s3-bucket NAME ...]
//	               [-storage-quota SIZE] [-min-free-space SIZE]
//	               [-rate-limit-rpm N] [-rate-limit-part-bytes SIZE]
//	               [-faults KIND:PERCENT,... [-faults-seed N] [-faults-ops OP,...]] [-faults-header]
//
// Each flag falls back to an environment variable: UPLOADS_ADDR, UPLOADS_DATA_DIR and
// UPLOADS_API_KEYS (keys separated by commas), UPLOADS_STORE, UPLOADS_RECORD_DIR, and the networked store's
// UPLOADS_DATABASE_URL, UPLOADS_S3_* (see store/pgstore). Without any key, the development key sk-local-dev
// is accepted, and printed. -storage-quota (UPLOADS_STORAGE_QUOTA, off by default) bounds what each key
// keeps; below -min-free-space (UPLOADS_MIN_FREE_SPACE, 256MiB) of free disk, the embedded store takes no
// new uploads or parts until space returns. The rate limits and faults (UPLOADS_RATE_LIMIT_*, UPLOADS_FAULTS*) make
// the server misbehave as the live service sometimes does, to test clients against; they are off
// unless asked for. The server stops on SIGINT or SIGTERM, letting requests in flight
// finish first.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/uploadkit/uploads/conformance"
	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/pgstore"
	"github.com/uploadkit/uploads/store/sqlitestore"
)

// DevKey is the API key accepted when no key is configured. It is for local development only.
const DevKey = "sk-local-dev"

// Timeouts of the HTTP server.
const (
	readHeaderTimeout = 10 * time.Second
	// readTimeout bounds reading one request, body included: a 64 MiB part takes about 9 minutes
	// at 1 Mbit/s, so 15 minutes leaves room for slow links.
	readTimeout = 15 * time.Minute
	// There is no write timeout: a download of a large file may take long, and a stalled reader
	// only holds its own connection.
	idleTimeout    = 2 * time.Minute
	maxHeaderBytes = 64 << 10
	// shutdownGrace is how long requests in flight may take to finish after a signal.
	shutdownGrace = 30 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, a second one ends the program at once.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "uploads-server:", err)
	}
	stop()
	os.Exit(exitCode(err))
}

// exitCode is the process's exit code after run returned err: 0 for none and for -h (the flag package has
// printed the usage), 1 otherwise.
func exitCode(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 1
}

// config is what the flags and the environment say.
type config struct {
	addr      string
	dataDir   string
	keys      []string
	storeKind string          // "sqlite" (embedded, in dataDir) or "postgres"
	pg        *pgstore.Config // the networked store's settings, used with storeKind "postgres"
	rateLimit server.RateLimit
	faults    server.Faults
	recordDir string // where to record every exchange (conformance.NewRecorder); "" for nowhere
	// metrics says where GET /metrics is served: "on" (beside the API), "off", or an address of
	// its own.
	metrics string
	storage storageLimits
}

// parseConfig reads the flags, falling back to the environment, then to the defaults.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	cfg := config{addr: "127.0.0.1:8080", dataDir: "./data", storeKind: "sqlite"}
	if v := getenv("UPLOADS_STORE"); v != "" {
		cfg.storeKind = v
	}
	if v := getenv("UPLOADS_ADDR"); v != "" {
		cfg.addr = v
	}
	if v := getenv("UPLOADS_DATA_DIR"); v != "" {
		cfg.dataDir = v
	}
	cfg.recordDir = getenv("UPLOADS_RECORD_DIR")
	cfg.metrics = "on"
	if v := getenv("UPLOADS_METRICS"); v != "" {
		cfg.metrics = v
	}
	envKeys := splitKeys(getenv("UPLOADS_API_KEYS"))

	fs := flag.NewFlagSet("uploads-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", cfg.addr, "address to listen on (env UPLOADS_ADDR)")
	fs.StringVar(&cfg.dataDir, "data", cfg.dataDir, "directory of the store (env UPLOADS_DATA_DIR)")
	fs.StringVar(&cfg.storeKind, "store", cfg.storeKind, "where to keep uploads: sqlite (embedded, in -data) or postgres (PostgreSQL and an S3 bucket, for replicas) (env UPLOADS_STORE)")
	cfg.pg = pgstore.RegisterFlags(fs, getenv)
	misbehave, err := registerMisbehaviour(fs, getenv)
	if err != nil {
		return config{}, err
	}
	fs.StringVar(&cfg.metrics, "metrics", cfg.metrics, "Prometheus metrics: on (GET /metrics on -addr, without a key), off, or an address such as 127.0.0.1:9090 to serve them there instead (env UPLOADS_METRICS)")
	storage, err := registerStorageLimits(fs, getenv)
	if err != nil {
		return config{}, err
	}
	fs.StringVar(&cfg.recordDir, "record", cfg.recordDir, "write every exchange with a client to a file in this directory, secrets redacted, parts as a digest (env UPLOADS_RECORD_DIR)")
	var flagKeys []string
	fs.Func("api-key", "API key to accept; repeat or separate with commas (env UPLOADS_API_KEYS; default: the dev key "+DevKey+")",
		func(v string) error {
			keys := splitKeys(v)
			if len(keys) == 0 {
				return errors.New("empty API key")
			}
			flagKeys = append(flagKeys, keys...)
			return nil
		})
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if cfg.rateLimit, cfg.faults, err = misbehave.settings(); err != nil {
		return config{}, err
	}
	if cfg.metrics == "" {
		return config{}, errors.New("-metrics: want on, off, or an address to serve them on")
	}
	cfg.storage = *storage
	if cfg.storeKind != "sqlite" && cfg.storeKind != "postgres" {
		return config{}, fmt.Errorf("-store %q: want sqlite or postgres", cfg.storeKind)
	}
	switch {
	case len(flagKeys) > 0:
		cfg.keys = flagKeys
	case len(envKeys) > 0:
		cfg.keys = envKeys
	}
	return cfg, nil
}

// splitKeys splits a comma-separated list of keys, dropping blanks.
func splitKeys(s string) []string {
	var keys []string
	for k := range strings.SplitSeq(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// run serves until ctx is done, then shuts down: it stops accepting connections, lets requests in
// flight finish (for up to shutdownGrace), waits for those it then cuts off to clean up (for up to
// cleanupGrace), stops the sweeper and closes the store.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	devKey := len(cfg.keys) == 0
	if devKey {
		cfg.keys = []string{DevKey}
	}

	st, where, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close the store: %w", cerr)
		}
	}()
	srv, err := server.New(server.Config{
		Store: st, APIKeys: cfg.keys, Logger: logger, RateLimit: cfg.rateLimit, Faults: cfg.faults,
		DisableMetrics:    cfg.metrics != "on",
		StorageQuotaBytes: cfg.storage.quota, MinFreeBytes: cfg.storage.minFree,
	})
	if err != nil {
		return err
	}
	defer srv.Close()

	var handler http.Handler = srv
	if cfg.recordDir != "" {
		rec, err := conformance.NewRecorder(cfg.recordDir, nil, conformance.OnRecordError(func(err error) {
			logger.Warn("recording an exchange failed", slog.String("error", err.Error()))
		}))
		if err != nil {
			return fmt.Errorf("-record: %w", err)
		}
		handler = rec.Handler(srv)
	}

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	var handlers handlerGroup
	httpServer := &http.Server{
		Handler:           handlers.wrap(handler),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Requests held by the slow fault are served at once when shutdown begins.
	httpServer.RegisterOnShutdown(srv.EndHolds)

	if cfg.metrics != "on" && cfg.metrics != "off" {
		mln, err := net.Listen("tcp", cfg.metrics)
		if err != nil {
			return fmt.Errorf("-metrics: listen on %s: %w", cfg.metrics, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		metricsServer := &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout,
			ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
		go func() { _ = metricsServer.Serve(mln) }()
		defer metricsServer.Close()
		fmt.Fprintf(stdout, "metrics at http://%s/metrics\n", mln.Addr())
	}

	fmt.Fprintf(stdout, "uploads-server listening on http://%s/v1 (%s)\n", ln.Addr(), where)
	for _, line := range describe(cfg.rateLimit, cfg.faults) {
		fmt.Fprintln(stdout, line)
	}
	if cfg.recordDir != "" {
		fmt.Fprintf(stdout, "recording every exchange in %s\n", cfg.recordDir)
	}
	if devKey {
		if !isLoopback(ln.Addr()) {
			logger.Warn("serving beyond this machine with the public development key; set -api-key or UPLOADS_API_KEYS",
				slog.String("addr", ln.Addr().String()))
		}
		fmt.Fprintf(stdout, "accepting the development API key: %s\n", DevKey)
		fmt.Fprintf(stdout, "try: OPENAI_BASE_URL=http://%s/v1 OPENAI_API_KEY=%s\n", ln.Addr(), DevKey)
	} else {
		fmt.Fprintf(stdout, "accepting %d API key(s) from -api-key / UPLOADS_API_KEYS\n", len(cfg.keys))
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(ln) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	logger.Info("shutting down: finishing requests in flight", slog.Duration("grace", shutdownGrace))
	shutdown(httpServer, &handlers, shutdownGrace, cleanupGrace, logger)
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// isLoopback reports whether addr can be reached only from this machine.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// openStore opens the store cfg selects and says where it keeps uploads.
func openStore(ctx context.Context, cfg config) (store.Store, string, error) {
	if cfg.storeKind == "postgres" {
		st, err := pgstore.Open(ctx, *cfg.pg)
		if err != nil {
			return nil, "", err
		}
		return st, fmt.Sprintf("metadata in PostgreSQL, bytes in bucket %s at %s", cfg.pg.S3Bucket, cfg.pg.S3Endpoint), nil
	}
	st, err := sqlitestore.Open(ctx, cfg.dataDir)
	if err != nil {
		return nil, "", err
	}
	return st, "data in " + cfg.dataDir, nil
}
