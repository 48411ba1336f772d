package uploads

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSuccessOfExactlyTheBodyLimit: an answer of exactly maxResponseBody bytes is whole and
// decodes; only a longer one is refused.
func TestSuccessOfExactlyTheBodyLimit(t *testing.T) {
	upload := `{"id":"upload_abc","object":"upload","bytes":8,"created_at":1,"expires_at":3601,` +
		`"filename":"a.jsonl","purpose":"batch","status":"cancelled"}`
	for _, size := range []int{maxResponseBody, maxResponseBody + 1} {
		f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, []byte(upload+strings.Repeat(" ", size-len(upload))))
		})
		c, _ := newTestClient(t, f, specReport(t, "over"), WithMaxRetries(0))
		up, err := c.Cancel(t.Context(), "upload_abc")
		switch {
		case size == maxResponseBody && (err != nil || up.ID != "upload_abc"):
			t.Errorf("an answer of exactly %d bytes: %v, want the upload", size, err)
		case size > maxResponseBody && (err == nil || !strings.Contains(err.Error(), "over")):
			t.Errorf("an answer of %d bytes: %v, want an error saying it is too large", size, err)
		}
	}
}

// TestAttemptTimeoutOfAPlainTransport: a transport that answers a cancelled request with a bare
// context.Canceled (not the context's cause) still yields an error that says the attempt timed
// out, and counts as a deadline.
func TestAttemptTimeoutOfAPlainTransport(t *testing.T) {
	clearEnv(t)
	plain := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		<-r.Context().Done()
		return nil, context.Canceled
	})
	c, err := NewClient(WithAPIKey(testKey), WithBaseURL("http://api.invalid/v1"),
		WithHTTPClient(&http.Client{Transport: plain}), WithTimeout(20*time.Millisecond), WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Cancel(t.Context(), "upload_abc")
	var te *attemptTimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out after") {
		t.Errorf("Cancel through a plain transport that timed out: %v, want the attempt's timeout", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestLyingContentLength: a Content-Length far larger than the body (a broken proxy, a hostile
// server) does not size the client's buffer; the body that came is read and decoded.
func TestLyingContentLength(t *testing.T) {
	clearEnv(t)
	const upload = `{"id":"upload_abc","object":"upload","bytes":8,"created_at":1,"expires_at":3601,` +
		`"filename":"a.jsonl","purpose":"batch","status":"cancelled"}`
	liar := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			ContentLength: 1 << 50, Body: io.NopCloser(strings.NewReader(upload)), Request: r}, nil
	})
	c, err := NewClient(WithAPIKey(testKey), WithBaseURL("http://api.invalid/v1"),
		WithHTTPClient(&http.Client{Transport: liar}), WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	if up, err := c.Cancel(t.Context(), "upload_abc"); err != nil || up.ID != "upload_abc" {
		t.Errorf("Cancel with a lying Content-Length: %+v, %v; want the upload", up, err)
	}
}
