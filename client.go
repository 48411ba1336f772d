package uploads

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/uploadkit/uploads/gen"
)

// Client calls the Uploads API. It is safe for concurrent use by several goroutines.
type Client struct {
	api          *gen.Client
	baseURL      string
	maxRetries   int
	timeout      time.Duration
	stallTimeout time.Duration

	// The clock and the dice, replaced in tests so that retries take no real time.
	sleep     func(ctx context.Context, d time.Duration) error
	afterFunc func(d time.Duration, f func()) (stop func() bool)
	now       func() time.Time
	jitter    func() float64
	// progressInterval is the least time between two Progress calls (progressInterval).
	progressInterval time.Duration
	// syncFile makes a journal's file, or its directory, durable: (*os.File).Sync but in tests,
	// which count the syncs or make them fail.
	syncFile func(f *os.File) error
}

// NewClient returns a Client configured from the environment (OPENAI_API_KEY, OPENAI_BASE_URL,
// OPENAI_ORG_ID, OPENAI_PROJECT_ID) and then from opts. It fails with ErrMissingAPIKey when no API
// key is set, and when an option is invalid.
func NewClient(opts ...Option) (*Client, error) {
	cfg := defaultConfig(os.Getenv)
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("new client: %w", err)
		}
	}
	if strings.TrimSpace(cfg.apiKey) == "" {
		return nil, ErrMissingAPIKey
	}
	base, err := normalizeBaseURL(cfg.baseURL)
	if err != nil {
		return nil, fmt.Errorf("new client: %w", err)
	}
	hc := cfg.httpClient
	if hc == nil {
		hc = &http.Client{}
	}
	c := &Client{
		baseURL:      base,
		maxRetries:   cfg.maxRetries,
		timeout:      cfg.timeout,
		stallTimeout: cfg.stallTimeout,
		sleep:        realSleep,
		afterFunc:    realAfterFunc,
		now:          time.Now,
		jitter:       rand.Float64,

		progressInterval: progressInterval,
		syncFile:         (*os.File).Sync,
	}
	api, err := gen.NewClient(base,
		gen.WithHTTPClient(chain(hc, cfg.middlewares)),
		gen.WithRequestEditorFn(headerEditor(cfg)))
	if err != nil {
		return nil, fmt.Errorf("new client: %w", err)
	}
	c.api = api
	return c, nil
}

// headerEditor sets the headers every request carries. The values of the fixed headers share one
// array per request, each in a slice of its own that cannot grow into the next: one allocation
// instead of one per header, on the path every call takes.
func headerEditor(cfg config) gen.RequestEditorFn {
	type field struct{ key, value string }
	fixed := []field{{"Authorization", "Bearer " + strings.TrimSpace(cfg.apiKey)}}
	if cfg.organization != "" {
		fixed = append(fixed, field{http.CanonicalHeaderKey("OpenAI-Organization"), cfg.organization})
	}
	if cfg.project != "" {
		fixed = append(fixed, field{http.CanonicalHeaderKey("OpenAI-Project"), cfg.project})
	}
	if cfg.userAgent != "" {
		fixed = append(fixed, field{"User-Agent", cfg.userAgent})
	}
	extra := cfg.header.Clone()
	return func(_ context.Context, req *http.Request) error {
		values := make([]string, len(fixed)+1)
		for i, f := range fixed {
			values[i] = f.value
			req.Header[f.key] = values[i : i+1 : i+1]
		}
		if req.Header.Get("Accept") == "" {
			i := len(fixed)
			values[i] = "application/json"
			req.Header["Accept"] = values[i : i+1 : i+1]
		}
		for k, vs := range extra {
			req.Header[k] = append([]string(nil), vs...)
		}
		return nil
	}
}

// doerFunc lets a function be the generated client's HttpRequestDoer.
type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(req *http.Request) (*http.Response, error) { return f(req) }

// chain puts the middlewares in front of the HTTP client, the first one outermost.
func chain(hc *http.Client, mws []Middleware) doerFunc {
	next := MiddlewareNext(hc.Do)
	for i := len(mws) - 1; i >= 0; i-- {
		mw, inner := mws[i], next
		next = func(req *http.Request) (*http.Response, error) { return mw(req, inner) }
	}
	return doerFunc(next)
}
