package uploads

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uploadkit/uploads/conformance"
)

const testKey = "sk-test-key"

var loadValidator = sync.OnceValues(func() (*conformance.Validator, error) {
	return conformance.New(context.Background())
})

// validator is the spec checker every test client sends through.
func validator(t *testing.T) *conformance.Validator {
	t.Helper()
	v, err := loadValidator()
	if err != nil {
		t.Fatalf("load the conformance validator: %v", err)
	}
	return v
}

// specReport fails the test on every violation of the spec, except those whose text contains one
// of allowed (for cases that deliberately send what the spec does not describe).
func specReport(t *testing.T, allowed ...string) conformance.Report {
	t.Helper()
	return func(err error) {
		for _, a := range allowed {
			if strings.Contains(err.Error(), a) {
				return
			}
		}
		t.Errorf("spec violation: %v", err)
	}
}

// exchange is one request the fake API received.
type exchange struct {
	Method string
	Path   string // escaped, as on the wire
	Header http.Header
	Body   []byte
}

// fakeAPI is a loopback server under /v1 that records every request and answers with handler.
type fakeAPI struct {
	*httptest.Server
	mu   sync.Mutex
	seen []exchange
}

func newFakeAPI(t *testing.T, handler http.HandlerFunc) *fakeAPI {
	t.Helper()
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
			body, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		f.mu.Lock()
		f.seen = append(f.seen, exchange{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: body})
		f.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// requests returns what the server has received so far.
func (f *fakeAPI) requests() []exchange {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]exchange(nil), f.seen...)
}

// base is the base URL of the fake API.
func (f *fakeAPI) base() string { return f.URL + "/v1" }

// sleepRecorder stands in for the client's sleep: it records each wait and returns at once.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// newTestClient returns a client of f that sends through the validating transport, with the API
// key set, the environment ignored, no real waits and no jitter.
func newTestClient(t *testing.T, f *fakeAPI, report conformance.Report, opts ...Option) (*Client, *sleepRecorder) {
	t.Helper()
	clearEnv(t)
	if report == nil {
		report = specReport(t)
	}
	hc := &http.Client{Transport: validator(t).RoundTripper(http.DefaultTransport, report)}
	all := append([]Option{WithAPIKey(testKey), WithBaseURL(f.base()), WithHTTPClient(hc)}, opts...)
	c, err := NewClient(all...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	rec := &sleepRecorder{}
	c.sleep = rec.sleep
	c.jitter = func() float64 { return 0 }
	return c, rec
}

// clearEnv empties the variables NewClient reads, for the length of the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"} {
		t.Setenv(k, "")
	}
}

// fixture reads a file of testdata/client.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "client", name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

// writeJSON answers with a JSON body, and an x-request-id as the real service does.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-request-id", "req_test")
	w.WriteHeader(status)
	w.Write(body)
}
