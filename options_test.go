package uploads

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// cancelled answers every request with the recorded cancelled upload.
func cancelled(t *testing.T) http.HandlerFunc {
	body := fixture(t, "cancel-200.json")
	return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, body) }
}

func TestNewClientWithoutKeyFails(t *testing.T) {
	clearEnv(t)
	_, err := NewClient()
	if !errors.Is(err, ErrMissingAPIKey) {
		t.Fatalf("NewClient without a key: got %v, want ErrMissingAPIKey", err)
	}
	if _, err := NewClient(WithAPIKey("   ")); !errors.Is(err, ErrMissingAPIKey) {
		t.Fatalf("NewClient with a blank key: got %v, want ErrMissingAPIKey", err)
	}
}

func TestNewClientReadsEnvironment(t *testing.T) {
	f := newFakeAPI(t, cancelled(t))
	clearEnv(t)
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	t.Setenv("OPENAI_BASE_URL", f.base())
	t.Setenv("OPENAI_ORG_ID", "org-env")
	t.Setenv("OPENAI_PROJECT_ID", "proj-env")
	c, err := NewClient(WithHTTPClient(&http.Client{Transport: validator(t).RoundTripper(nil, specReport(t))}))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	if _, err := c.Cancel(t.Context(), "upload_abc"); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	got := f.requests()
	if len(got) != 1 {
		t.Fatalf("got %d requests, want 1", len(got))
	}
	want := map[string]string{
		"Authorization":       "Bearer sk-from-env",
		"Openai-Organization": "org-env",
		"Openai-Project":      "proj-env",
	}
	for k, v := range want {
		if g := got[0].Header.Get(k); g != v {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}
	if got[0].Path != "/v1/uploads/upload_abc/cancel" {
		t.Errorf("path = %q, want the base URL from OPENAI_BASE_URL", got[0].Path)
	}
}

func TestDefaultBaseURL(t *testing.T) {
	clearEnv(t)
	c, err := NewClient(WithAPIKey(testKey))
	if err != nil {
		t.Fatal(err)
	}
	if c.baseURL != DefaultBaseURL {
		t.Errorf("base URL = %q, want %q", c.baseURL, DefaultBaseURL)
	}
}

func TestOptionsPutHeadersOnTheWire(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		opts   []Option
		header string
		want   string
	}{
		{name: "API key", opts: []Option{WithAPIKey("sk-opt")}, header: "Authorization", want: "Bearer sk-opt"},
		{name: "API key wins over env", env: map[string]string{"OPENAI_API_KEY": "sk-env"}, opts: []Option{WithAPIKey("sk-opt")}, header: "Authorization", want: "Bearer sk-opt"},
		{name: "organization", opts: []Option{WithOrganization("org-1")}, header: "OpenAI-Organization", want: "org-1"},
		{name: "organization wins over env", env: map[string]string{"OPENAI_ORG_ID": "org-env"}, opts: []Option{WithOrganization("org-opt")}, header: "OpenAI-Organization", want: "org-opt"},
		{name: "no organization", header: "OpenAI-Organization", want: ""},
		{name: "project", opts: []Option{WithProject("proj-1")}, header: "OpenAI-Project", want: "proj-1"},
		{name: "header", opts: []Option{WithHeader("X-Trace", "t1")}, header: "X-Trace", want: "t1"},
		{name: "header replaces the client's own", opts: []Option{WithHeader("Accept", "application/x-test")}, header: "Accept", want: "application/x-test"},
		{name: "default user agent", header: "User-Agent", want: "uploadkit-uploads-go/" + Version},
		{name: "user agent", opts: []Option{WithUserAgent("my-app/1.2")}, header: "User-Agent", want: "my-app/1.2"},
		{name: "accept", header: "Accept", want: "application/json"},
		{name: "middleware", opts: []Option{WithMiddleware(func(req *http.Request, next MiddlewareNext) (*http.Response, error) {
			req.Header.Set("X-Middleware", "seen")
			return next(req)
		})}, header: "X-Middleware", want: "seen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, cancelled(t))
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			hc := &http.Client{Transport: validator(t).RoundTripper(nil, specReport(t))}
			opts := append([]Option{WithAPIKey(testKey), WithBaseURL(f.base()), WithHTTPClient(hc)}, tt.opts...)
			c, err := NewClient(opts...)
			if err != nil {
				t.Fatalf("NewClient: %v", err)
			}
			if _, err := c.Cancel(t.Context(), "upload_abc"); err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			got := f.requests()
			if len(got) != 1 {
				t.Fatalf("got %d requests, want 1", len(got))
			}
			if g := got[0].Header.Get(tt.header); g != tt.want {
				t.Errorf("header %s = %q, want %q", tt.header, g, tt.want)
			}
		})
	}
}

func TestMiddlewaresRunInOrderOnEveryAttempt(t *testing.T) {
	var calls atomic.Int32
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			writeJSON(w, http.StatusInternalServerError, []byte(`{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`))
			return
		}
		writeJSON(w, http.StatusOK, fixture(t, "cancel-200.json"))
	})
	var order []string
	mw := func(name string) Middleware {
		return func(req *http.Request, next MiddlewareNext) (*http.Response, error) {
			order = append(order, name+" in")
			resp, err := next(req)
			order = append(order, name+" out")
			return resp, err
		}
	}
	c, _ := newTestClient(t, f, nil, WithMiddleware(mw("a")), WithMiddleware(mw("b")))
	if _, err := c.Cancel(t.Context(), "upload_abc"); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	want := "a in,b in,b out,a out,a in,b in,b out,a out"
	if got := strings.Join(order, ","); got != want {
		t.Errorf("middleware order = %s, want %s", got, want)
	}
}

func TestNewClientRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
		want string
	}{
		{"relative base URL", WithBaseURL("api.openai.com/v1"), "absolute http or https URL"},
		{"ftp base URL", WithBaseURL("ftp://example.com/v1"), "absolute http or https URL"},
		{"base URL with query", WithBaseURL("https://example.com/v1?x=1"), "query or fragment"},
		{"negative retries", WithMaxRetries(-1), "negative"},
		{"negative timeout", WithTimeout(-time.Second), "negative"},
		{"nil HTTP client", WithHTTPClient(nil), "nil client"},
		{"nil middleware", WithMiddleware(nil), "nil middleware"},
		{"authorization header", WithHeader("authorization", "Bearer x"), "WithAPIKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			_, err := NewClient(WithAPIKey(testKey), tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewClient: got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestBaseURLTrailingSlash(t *testing.T) {
	for _, suffix := range []string{"/v1", "/v1/", "/v1//"} {
		t.Run(suffix, func(t *testing.T) {
			f := newFakeAPI(t, cancelled(t))
			c, _ := newTestClient(t, f, nil, WithBaseURL(f.URL+suffix))
			if _, err := c.Cancel(t.Context(), "upload_abc"); err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			if got := f.requests()[0].Path; got != "/v1/uploads/upload_abc/cancel" {
				t.Errorf("path = %q, want /v1/uploads/upload_abc/cancel", got)
			}
		})
	}
}

func TestMaxRetriesAndTimeoutOptions(t *testing.T) {
	for _, n := range []int{0, 1, 4} {
		f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusInternalServerError, []byte(`{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`))
		})
		c, _ := newTestClient(t, f, nil, WithMaxRetries(n))
		if _, err := c.Cancel(t.Context(), "upload_abc"); err == nil {
			t.Fatalf("WithMaxRetries(%d): Cancel succeeded against a failing server", n)
		}
		if got := len(f.requests()); got != n+1 {
			t.Errorf("WithMaxRetries(%d): %d attempts, want %d", n, got, n+1)
		}
	}
	clearEnv(t)
	c, err := NewClient(WithAPIKey(testKey), WithTimeout(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if c.timeout != 3*time.Second || c.maxRetries != defaultMaxRetries {
		t.Errorf("timeout, retries = %v, %d; want 3s, %d", c.timeout, c.maxRetries, defaultMaxRetries)
	}
}

// countingTransport counts the requests it sends on to the validating transport.
type countingTransport struct {
	n    atomic.Int32
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func TestWithHTTPClientCarriesEveryRequest(t *testing.T) {
	f := newFakeAPI(t, cancelled(t))
	ct := &countingTransport{next: validator(t).RoundTripper(nil, specReport(t))}
	c, _ := newTestClient(t, f, nil, WithHTTPClient(&http.Client{Transport: ct}))
	for range 3 {
		if _, err := c.Cancel(t.Context(), "upload_abc"); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
	}
	if ct.n.Load() != 3 || len(f.requests()) != 3 {
		t.Errorf("the given client sent %d of %d requests", ct.n.Load(), len(f.requests()))
	}
}
