package server_test

import (
	"bytes"
	"io"
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

// Part bytes: a part whose length is known is refused while the bucket holds less; one sent
// without a length goes through while the key owes nothing, and its bytes are counted as read.
func TestRateLimitPartBytes(t *testing.T) {
	const perMinute = 6000 // 100 bytes a second
	e := newEnv(t, withRateLimit(server.RateLimit{PartBytesPerMinute: perMinute}))
	u := e.createUpload(keyA, 100_000)

	ct, body := multipartBody(t, field{"data", randomBytes(4000, 1)})
	first := int64(len(body))
	if r := e.do("POST", "/uploads/"+u.ID+"/parts", keyA, ct, bytes.NewReader(body)); r.Status != http.StatusOK {
		t.Fatalf("first part: %d %s", r.Status, r.Body)
	}
	// JSON requests do not count.
	if r := e.do("POST", "/uploads/"+u.ID+"/cancel", keyB, "", nil); r.Status != http.StatusNotFound {
		t.Fatalf("cancel with the other key: %d", r.Status)
	}
	// The bucket holds perMinute-first bytes; a second part of the same size waits for the rest.
	r := e.do("POST", "/uploads/"+u.ID+"/parts", keyA, ct, bytes.NewReader(body))
	missing := first - (perMinute - first)
	checkEnvelope(t, r, wantEnvelope{Status: 429, Type: "bytes", Code: "rate_limit_exceeded",
		Message: "Rate limit reached for part bytes per min: Limit 6000"})
	checkRetryAfter(t, r, missing*10) // 100 bytes a second: 10 ms a byte

	e.clock.Advance(time.Duration(missing*10) * time.Millisecond)
	if r := e.do("POST", "/uploads/"+u.ID+"/parts", keyA, ct, bytes.NewReader(body)); r.Status != http.StatusOK {
		t.Fatalf("part after the wait: %d %s", r.Status, r.Body)
	}

	// Empty bucket now. After 1 s (100 bytes), a part of unknown length is let in, and leaves a
	// debt of what it carried beyond those 100 bytes.
	e.clock.Advance(time.Second)
	ct, big := multipartBody(t, field{"data", randomBytes(9000, 2)})
	req, err := http.NewRequest("POST", e.URL+"/uploads/"+u.ID+"/parts", io.MultiReader(bytes.NewReader(big)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+keyA)
	req.Header.Set("Content-Type", ct)
	if r := e.send(req); r.Status != http.StatusOK {
		t.Fatalf("part of unknown length: %d %s", r.Status, r.Body)
	}
	debt := int64(len(big)) - 100
	r = e.do("POST", "/uploads/"+u.ID+"/parts", keyA, ct, bytes.NewReader(big))
	checkEnvelope(t, r, wantEnvelope{Status: 429, Type: "bytes", Code: "rate_limit_exceeded"})
	checkRetryAfter(t, r, (debt+perMinute)*10) // the debt, then a full bucket for this part
	if r := e.do("GET", "/files/file-abc", keyA, "", nil); r.Status != http.StatusNotFound {
		t.Errorf("a request without a part while the bytes are exhausted: %d", r.Status)
	}
}
