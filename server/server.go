// Package server is the reference implementation of the Uploads API: the strict server interface
// generated from openapi/uploads.yaml (gen.StrictServerInterface), made to behave like the live
// service over a store.Store.
//
// A request passes, in order: observe (request id, openai-* headers, access log, panic recovery),
// injectFaults (only with Config.Faults), authenticate (Bearer key, owner), limitRate (only with
// Config.RateLimit), validate (the request against the spec, body limits), the
// generated router and strict handler, and the handlers of this package, which call the store.
// Every error answer is the OpenAI error envelope.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"reflect"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/routers"

	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/store"
)

// Defaults of Config.
const (
	// DefaultMaxJSONBytes bounds the JSON body of a request; real ones are a few hundred bytes.
	DefaultMaxJSONBytes = 1 << 20
	// DefaultSweepInterval is how often expired and cancelled uploads have their bytes freed.
	DefaultSweepInterval = time.Minute
)

// Config configures a Server. Store and at least one API key are required.
type Config struct {
	// Store keeps uploads, parts and files. The Server does not close it.
	Store store.Store
	// APIKeys are the keys accepted as "Authorization: Bearer <key>". Each key owns what it creates
	// and sees nothing of the others.
	APIKeys []string
	// Now is the clock (time.Now when nil). Tests set it to move through expiry.
	Now func() time.Time
	// Logger receives the access log and errors (slog.Default when nil).
	Logger *slog.Logger
	// MaxPartBytes is the largest part accepted (MaxPartBytes, 64 MiB, when 0).
	MaxPartBytes int64
	// MaxJSONBytes is the largest JSON body accepted (DefaultMaxJSONBytes when 0).
	MaxJSONBytes int64
	// SweepInterval is how often the background sweeper frees the bytes of expired and cancelled
	// uploads (DefaultSweepInterval when 0; never when negative).
	SweepInterval time.Duration
	// MaxUploadBytes bounds the bytes of the parts one upload holds (MaxUploadBytes, 8 GiB, when
	// 0): the part that would take them past it is refused. Parts past an upload's declared size
	// are accepted up to it (a client may send a part again after a lost answer); completion
	// checks the sizes.
	MaxUploadBytes int64
	// StorageQuotaBytes bounds the bytes each key keeps: the parts of its uploads not completed
	// (until released) plus its files that have not expired (no quota when 0).
	StorageQuotaBytes int64
	// MinFreeBytes is the floor of free space below which creates and parts are refused with a
	// 507 that clients retry, when the store reports its free space (store.SpaceReporter); cancel
	// and the sweeper keep working (no floor when 0).
	MinFreeBytes int64
	// RateLimit limits each key's requests and part bytes per minute (no limit when zero).
	RateLimit RateLimit
	// Faults injects errors, dropped connections and delays into answers (none when zero).
	Faults Faults
	// DisableMetrics leaves GET /metrics out of the server's routes. The metrics are still kept,
	// and MetricsHandler serves them, for binding them to another address.
	DisableMetrics bool
}

// Server serves the Uploads API under /v1, and GET /healthz. It is an http.Handler; Close stops its
// background sweeper.
type Server struct {
	store   store.Store
	keys    keyring
	now     func() time.Time
	logger  *slog.Logger
	maxPart int64
	maxJSON int64
	// maxUpload and quota bound what AddPart stores; minFree is the free-space floor (0: none).
	maxUpload int64
	quota     int64
	minFree   int64
	router    routers.Router
	handler   http.Handler
	limiter   *rateLimiter   // nil without a rate limit
	faults    *faultInjector // nil without faults
	metrics   *metrics
	// serveMetrics is whether GET /metrics is one of the routes.
	serveMetrics bool

	stopSweeper context.CancelFunc
	sweeperDone chan struct{}
	closeOnce   sync.Once

	holdsEnded   chan struct{} // closed by EndHolds
	endHoldsOnce sync.Once
}

var _ gen.StrictServerInterface = (*Server)(nil)

// New builds a Server from cfg and starts its sweeper.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("new server: no store")
	}
	if len(cfg.APIKeys) == 0 {
		return nil, errors.New("new server: no API key")
	}
	s := &Server{
		store:     cfg.Store,
		now:       cfg.Now,
		logger:    cfg.Logger,
		maxPart:   cfg.MaxPartBytes,
		maxJSON:   cfg.MaxJSONBytes,
		maxUpload: cfg.MaxUploadBytes,
		quota:     max(cfg.StorageQuotaBytes, 0),
		minFree:   max(cfg.MinFreeBytes, 0),
	}
	for i, k := range cfg.APIKeys {
		if k == "" {
			return nil, fmt.Errorf("new server: API key %d is empty", i)
		}
		s.keys = append(s.keys, keyDigest(k))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.maxPart <= 0 {
		s.maxPart = MaxPartBytes
	}
	if s.maxJSON <= 0 {
		s.maxJSON = DefaultMaxJSONBytes
	}
	if s.maxUpload <= 0 {
		s.maxUpload = MaxUploadBytes
	}
	router, err := newRouter(context.Background())
	if err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	s.router = router
	if err := cfg.RateLimit.check(); err != nil {
		return nil, fmt.Errorf("new server: %w", err)
	}
	if cfg.RateLimit.enabled() {
		s.limiter = newRateLimiter(cfg.RateLimit)
	}
	if cfg.Faults.enabled() {
		if s.faults, err = newFaultInjector(context.Background(), cfg.Faults); err != nil {
			return nil, fmt.Errorf("new server: %w", err)
		}
	}
	s.holdsEnded = make(chan struct{})
	s.metrics = newMetrics(s)
	s.serveMetrics = !cfg.DisableMetrics
	s.handler = s.routes()

	interval := cfg.SweepInterval
	if interval == 0 {
		interval = DefaultSweepInterval
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopSweeper = cancel
	s.sweeperDone = make(chan struct{})
	if interval > 0 {
		go s.sweepEvery(ctx, interval)
	} else {
		close(s.sweeperDone)
	}
	return s, nil
}

// routes assembles the handler chain described in the package comment.
func (s *Server) routes() http.Handler { return s.handlerChain(true) }

// handlerChain is the server's handler: observe, path check, auth, spec validation (when validate
// is set), then the generated router and strict handler. Only benchmarks leave validation out, to
// measure what it costs.
func (s *Server) handlerChain(validate bool) http.Handler {
	strict := gen.NewStrictHandlerWithOptions(s, nil, gen.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  s.answerRequestError,
		ResponseErrorHandlerFunc: s.answerError,
	})
	api := http.NewServeMux()
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, invalidURL(r)) })
	gen.HandlerWithOptions(strict, gen.StdHTTPServerOptions{
		BaseURL:          basePath,
		BaseRouter:       api,
		ErrorHandlerFunc: s.answerRequestError,
	})
	var checked http.Handler = api
	if validate {
		checked = s.validate(api)
	}

	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", s.healthz)
	if s.serveMetrics {
		root.Handle("GET /metrics", s.metrics.handler())
	}
	root.Handle(basePath+"/", s.injectFaults(s.authenticate(s.limitRate(checked))))
	// Without a pattern of its own, "/v1" would get ServeMux's redirect to "/v1/": an HTML body,
	// and a 307 that a client follows by sending its method and body again. Everything outside
	// the API gets the error envelope instead.
	notFound := func(w http.ResponseWriter, r *http.Request) { writeError(w, invalidURL(r)) }
	root.HandleFunc(basePath, notFound)
	root.HandleFunc("/", notFound)
	return s.observe(refuseUncleanPaths(root))
}

// refuseUncleanPaths answers a path with "." or ".." segments or doubled slashes with a 404
// envelope. ServeMux would redirect it to the cleaned path: an API client must get an error for a
// path it did not mean, never be sent on to another resource.
func refuseUncleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The escaped form, so that an id holding %2F stays one segment.
		p := r.URL.EscapedPath()
		if c := path.Clean(p); c != p && c+"/" != p {
			writeError(w, invalidURL(r))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// answerRequestError answers a request the generated code could not decode (a path parameter, a
// JSON body, a multipart body). Validation catches nearly all of these first.
func (s *Server) answerRequestError(w http.ResponseWriter, r *http.Request, err error) {
	var param *gen.InvalidParamFormatError
	var tooLarge *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &param):
		writeError(w, badRequest(param.ParamName, codeInvalidValue, "Invalid '%s'.", param.ParamName))
	case errors.As(err, &typeErr) && typeErr.Field != "":
		// A value the spec allows but the Go model cannot hold: name the field all the same.
		writeError(w, badRequest(typeErr.Field, codeInvalidType, "Invalid type for '%s': expected %s, but got %s instead.",
			typeErr.Field, goKind(typeErr.Type), typeErr.Value))
	case errors.As(err, &tooLarge):
		writeError(w, badRequest("", "", "The request body is larger than %d bytes.", tooLarge.Limit))
	case r.Method == http.MethodPost && isMultipartRoute(r):
		writeError(w, badRequest("data", "",
			"The request body must be a multipart/form-data form with one 'data' field holding the part's bytes."))
	default:
		writeError(w, badRequest("", "", parseErrorMessage))
	}
}

// goKind names the JSON kind a Go type decodes from.
func goKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// isMultipartRoute reports whether r is for addUploadPart.
func isMultipartRoute(r *http.Request) bool {
	return r.Pattern == "POST "+basePath+"/uploads/{upload_id}/parts"
}

// healthz answers 200 with "status": "ok" when the store answers, 503 "unavailable" when it
// fails, and 200 "degraded" when the store's free space is below the floor: the server then
// refuses new uploads and parts but serves the rest, cancels and downloads included, and recovers
// by itself once space returns. Restarting it would free nothing, so the status code stays 200
// for probes that restart what fails them; monitoring reads "status".
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	// Looking up an id that cannot exist exercises the store without changing it.
	_, err := s.store.GetUpload(r.Context(), "", "healthz", s.now().Unix())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.logger.LogAttrs(r.Context(), slog.LevelError, "health check failed",
			slog.String("request_id", requestID(r.Context())), slog.String("error", err.Error()))
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "{\n  \"status\": \"unavailable\"\n}\n")
		return
	}
	if free, low := s.lowOnSpace(r.Context()); low {
		_, _ = fmt.Fprintf(w, "{\n  \"status\": \"degraded\",\n  \"reason\": \"free space below the floor\",\n"+
			"  \"free_bytes\": %d,\n  \"min_free_bytes\": %d\n}\n", free, s.minFree)
		return
	}
	_, _ = io.WriteString(w, "{\n  \"status\": \"ok\"\n}\n")
}

// lowOnSpace reports whether the store's free space is below the floor, and how much is free.
// Without a floor, or a store that reports its space, it is never low; a failure to read the
// space is logged and taken as not low (the writes themselves still fail with ErrNoSpace).
func (s *Server) lowOnSpace(ctx context.Context) (int64, bool) {
	sr, ok := s.store.(store.SpaceReporter)
	if s.minFree == 0 || !ok {
		return 0, false
	}
	free, err := sr.FreeBytes(ctx)
	if err != nil {
		s.logger.LogAttrs(ctx, slog.LevelWarn, "free space unknown", slog.String("error", err.Error()))
		return 0, false
	}
	return free, free < s.minFree
}

// Sweep frees, once, the bytes of uploads that expired or were cancelled and of Files that
// expired, and reports what it freed (store.SweepResult). The background sweeper calls it; tests
// call it directly. Every call is a run of the sweeper in the metrics
// (uploads_sweeper_runs_total, uploads_sweeper_freed_bytes_total, ...), whoever makes it.
func (s *Server) Sweep(ctx context.Context) (store.SweepResult, error) {
	res, err := s.store.SweepExpired(ctx, s.now().Unix())
	s.metrics.sweep(res, err)
	if err != nil {
		return res, fmt.Errorf("sweep expired uploads: %w", err)
	}
	return res, nil
}

func (s *Server) sweepEvery(ctx context.Context, interval time.Duration) {
	defer close(s.sweeperDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			res, err := s.Sweep(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				s.logger.LogAttrs(ctx, slog.LevelError, "sweep failed", slog.String("error", err.Error()))
			case res != store.SweepResult{}:
				s.logger.LogAttrs(ctx, slog.LevelInfo, "swept", slog.Int("uploads", res.Uploads),
					slog.Int("files", res.Files), slog.Int64("freed_bytes", res.Bytes))
			}
		}
	}
}

// Close stops the background sweeper and waits for a sweep in progress to end. It does not close
// the store, which belongs to the caller. Close may be called more than once. It ends the holds
// of the slow fault too (see EndHolds).
func (s *Server) Close() error {
	s.EndHolds()
	s.closeOnce.Do(func() {
		s.stopSweeper()
		<-s.sweeperDone
	})
	return nil
}
