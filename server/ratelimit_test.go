package server_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uploadkit/uploads/server"
)

func withRateLimit(l server.RateLimit) envOption {
	return func(c *server.Config) { c.RateLimit = l }
}

// checkRetryAfter fails the test unless r asks for a wait of ms milliseconds in both headers.
func checkRetryAfter(t *testing.T, r reply, ms int64) {
	t.Helper()
	wantS := (ms + 999) / 1000
	if got := r.Header.Get("retry-after-ms"); got != strconv.FormatInt(ms, 10) {
		t.Errorf("retry-after-ms = %q, want %d", got, ms)
	}
	if got := r.Header.Get("retry-after"); got != strconv.FormatInt(wantS, 10) {
		t.Errorf("retry-after = %q, want %d", got, wantS)
	}
}

// Each key may make RequestsPerMinute requests at once, then one more every 60/N seconds; the
// 429 is the live envelope with the wait in both headers, and the other key is not held back.
func TestRateLimitRequests(t *testing.T) {
	var log syncBuffer
	e := newEnv(t, withRateLimit(server.RateLimit{RequestsPerMinute: 2}), withLog(&log))
	u := e.createUpload(keyA, 3)
	if r := e.do("GET", "/files/file-abc", "sk-not-a-key", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("bad key: %d", r.Status)
	}
	if r := e.addPart(keyA, u.ID, []byte("abc")); r.Status != http.StatusOK {
		t.Fatalf("second request: %d %s", r.Status, r.Body)
	}
	r := e.do("POST", "/uploads/"+u.ID+"/cancel", keyA, "", nil)
	checkEnvelope(t, r, wantEnvelope{Status: 429, Type: "requests", Code: "rate_limit_exceeded",
		Message: "Rate limit reached for requests per min (RPM): Limit 2, Used 2, Requested 1. Please try again in 30s."})
	checkRetryAfter(t, r, 30_000)
	for _, h := range []string{"x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"} {
		if v := r.Header.Get(h); v != "" {
			t.Errorf("%s: %q; the live Uploads API sends no x-ratelimit-* header", h, v)
		}
	}
	if !strings.Contains(log.String(), `"msg":"rate limit exceeded"`) {
		t.Errorf("no log line for the 429:\n%s", log.String())
	}

	if r := e.do("GET", "/files/file-abc", keyB, "", nil); r.Status != http.StatusNotFound {
		t.Errorf("the other key: %d %s, want its own allowance", r.Status, r.Body)
	}
	e.clock.Advance(20 * time.Second)
	r = e.do("POST", "/uploads/"+u.ID+"/cancel", keyA, "", nil)
	checkEnvelope(t, r, wantEnvelope{Status: 429, Type: "requests", Code: "rate_limit_exceeded", Message: "Please try again in 10s."})
	checkRetryAfter(t, r, 10_000)
	e.clock.Advance(10 * time.Second)
	if r := e.do("POST", "/uploads/"+u.ID+"/cancel", keyA, "", nil); r.Status != http.StatusOK {
		t.Errorf("after the wait asked for: %d %s", r.Status, r.Body)
	}
}
