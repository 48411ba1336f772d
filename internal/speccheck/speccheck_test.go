package speccheck_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/uploadkit/uploads/internal/speccheck"
)

// TestModes: the same bad request (no key, a wrong type and an unknown field) is one error for a
// server, which checks the key itself, and every violation, the missing key included, for an
// observer. A good request passes both.
func TestModes(t *testing.T) {
	router, err := speccheck.NewRouter(t.Context(), "/v1")
	if err != nil {
		t.Fatal(err)
	}
	check := func(body, auth string, m speccheck.Mode) error {
		t.Helper()
		r := httptest.NewRequest("POST", "http://example.com/v1/uploads", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		route, params, err := router.FindRoute(r)
		if err != nil {
			t.Fatalf("route: %v", err)
		}
		return speccheck.CheckRequest(t.Context(), r, route, params, m)
	}
	good := `{"purpose":"batch","filename":"a.jsonl","bytes":4,"mime_type":"text/jsonl"}`
	bad := `{"purpose":"batch","filename":"a.jsonl","bytes":"four","mime_type":"text/jsonl","extra":1}`
	for _, m := range []speccheck.Mode{speccheck.Serving, speccheck.Observing} {
		if err := check(good, "Bearer sk-x", m); err != nil {
			t.Errorf("mode %d: a good request fails: %v", m, err)
		}
	}
	if err := check(good, "", speccheck.Serving); err != nil {
		t.Errorf("Serving checks the key, which is the server's job: %v", err)
	}
	if err := check(good, "", speccheck.Observing); err == nil {
		t.Error("Observing lets a request without a bearer token through")
	}
	serving := check(bad, "Bearer sk-x", speccheck.Serving)
	var multi openapi3.MultiError
	if serving == nil || errors.As(serving, &multi) {
		t.Errorf("Serving: want one error, got %v", serving)
	}
	observing := check(bad, "", speccheck.Observing)
	if !errors.As(observing, &multi) || len(multi) < 2 {
		t.Errorf("Observing: want every violation, got %v", observing)
	}
}

// TestStreamedPartIsNotRead: the part's body is never read, and an observer checks its
// Content-Type instead.
func TestStreamedPartIsNotRead(t *testing.T) {
	router, err := speccheck.NewRouter(t.Context(), "/v1")
	if err != nil {
		t.Fatal(err)
	}
	body := &countingReader{r: strings.NewReader("--b\r\n")}
	r := httptest.NewRequest("POST", "http://example.com/v1/uploads/upload_1/parts", body)
	r.Header.Set("Authorization", "Bearer sk-x")
	r.Header.Set("Content-Type", "multipart/form-data")
	route, params, err := router.FindRoute(r)
	if err != nil {
		t.Fatal(err)
	}
	err = speccheck.CheckRequest(t.Context(), r, route, params, speccheck.Observing)
	if err == nil || !strings.Contains(err.Error(), "no boundary") {
		t.Errorf("a form without a boundary: %v", err)
	}
	if body.n != 0 {
		t.Errorf("the part's body was read: %d bytes", body.n)
	}
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
