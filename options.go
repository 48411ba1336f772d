package uploads

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is the address of the live API, used when neither WithBaseURL nor OPENAI_BASE_URL
// gives another.
const DefaultBaseURL = "https://api.openai.com/v1"

// Version is the version of this package, sent in the default User-Agent.
const Version = "0.1.0"

const (
	defaultMaxRetries   = 2
	defaultTimeout      = 60 * time.Second
	defaultStallTimeout = 60 * time.Second
)

// Option configures a Client. Options are applied in order, after the environment defaults, so an
// option always wins over the environment.
type Option func(*config) error

// Middleware wraps the sending of one attempt of a request. It may change the request, call next
// (or not), and look at or replace the response. It runs once per attempt, inside the retry loop.
type Middleware func(req *http.Request, next MiddlewareNext) (*http.Response, error)

// MiddlewareNext sends a request on to the next middleware, and finally to the HTTP client.
type MiddlewareNext func(req *http.Request) (*http.Response, error)

type config struct {
	apiKey       string
	baseURL      string
	organization string
	project      string
	httpClient   *http.Client
	maxRetries   int
	timeout      time.Duration
	stallTimeout time.Duration
	header       http.Header
	userAgent    string
	middlewares  []Middleware
}

func defaultConfig(getenv func(string) string) config {
	base := getenv("OPENAI_BASE_URL")
	if strings.TrimSpace(base) == "" {
		base = DefaultBaseURL
	}
	return config{
		apiKey:       getenv("OPENAI_API_KEY"),
		baseURL:      base,
		organization: getenv("OPENAI_ORG_ID"),
		project:      getenv("OPENAI_PROJECT_ID"),
		maxRetries:   defaultMaxRetries,
		timeout:      defaultTimeout,
		stallTimeout: defaultStallTimeout,
		header:       http.Header{},
		userAgent:    "uploadkit-uploads-go/" + Version,
	}
}

// WithAPIKey sets the API key sent as "Authorization: Bearer <key>" (default: OPENAI_API_KEY).
func WithAPIKey(key string) Option {
	return func(c *config) error {
		c.apiKey = key
		return nil
	}
}

// WithBaseURL sets the address the API is served under, such as "http://127.0.0.1:8080/v1"
// (default: OPENAI_BASE_URL, else DefaultBaseURL). A trailing slash is optional.
func WithBaseURL(base string) Option {
	return func(c *config) error {
		c.baseURL = base
		return nil
	}
}

// WithOrganization sets the OpenAI-Organization header (default: OPENAI_ORG_ID).
func WithOrganization(id string) Option {
	return func(c *config) error {
		c.organization = id
		return nil
	}
}

// WithProject sets the OpenAI-Project header (default: OPENAI_PROJECT_ID).
func WithProject(id string) Option {
	return func(c *config) error {
		c.project = id
		return nil
	}
}

// WithHTTPClient sets the HTTP client requests are sent with (default: a new http.Client with
// http.DefaultTransport). Its Timeout, if any, applies on top of WithTimeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("WithHTTPClient: nil client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithMaxRetries sets how many times a failed request is retried (default 2, so at most three
// attempts). Zero turns retries off.
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("WithMaxRetries: %d is negative", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithTimeout sets the time one attempt of a request may take (default 60 seconds); zero means no
// limit. An attempt that runs out of time is retried like a connection error. For DownloadFile the
// timeout covers the wait for the response headers, not the reading of the body; for AddPart it
// covers the wait for the answer once the part is sent, not the sending. Both of those are bounded
// by WithStallTimeout instead, so that a large part on a slow link is never cut off while its bytes
// keep moving.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("WithTimeout: %v is negative", d)
		}
		c.timeout = d
		return nil
	}
}

// WithStallTimeout sets how long the bytes of a part being sent, or of a download being read, may
// stop moving before the attempt is cut off (default 60 seconds); zero means no limit. A stalled
// part is retried like an attempt that timed out; a stalled download fails its read.
func WithStallTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("WithStallTimeout: %v is negative", d)
		}
		c.stallTimeout = d
		return nil
	}
}

// WithHeader adds a header to every request. It replaces any value the client would send itself
// for that header, except Authorization, which only WithAPIKey sets.
func WithHeader(key, value string) Option {
	return func(c *config) error {
		if strings.EqualFold(key, "Authorization") {
			return errors.New("WithHeader: set the API key with WithAPIKey")
		}
		c.header.Add(key, value)
		return nil
	}
}

// WithUserAgent sets the User-Agent header (default "uploadkit-uploads-go/" + Version).
func WithUserAgent(ua string) Option {
	return func(c *config) error {
		c.userAgent = ua
		return nil
	}
}

// WithMiddleware adds a middleware around each attempt of every request. Middlewares run in the
// order they are added: the first one added sees the request first and the response last.
func WithMiddleware(m Middleware) Option {
	return func(c *config) error {
		if m == nil {
			return errors.New("WithMiddleware: nil middleware")
		}
		c.middlewares = append(c.middlewares, m)
		return nil
	}
}

// normalizeBaseURL checks that base is an absolute http(s) URL and drops trailing slashes.
func normalizeBaseURL(base string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil {
		return "", fmt.Errorf("base URL %q: %w", base, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("base URL %q: want an absolute http or https URL", base)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("base URL %q: must not have a query or fragment", base)
	}
	return strings.TrimRight(u.String(), "/"), nil
}
