package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uploadkit/uploads"
	"github.com/uploadkit/uploads/server"
)

// sendPart sends data as a part of upload id with keyA: with its Content-Length, or without one
// (chunked) when chunked is set.
func (e *env) sendPart(id string, data []byte, chunked bool) reply {
	e.t.Helper()
	ct, body := multipartBody(e.t, field{"data", data})
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // a reader of unknown length
	}
	req, err := http.NewRequest("POST", e.URL+"/uploads/"+id+"/parts", r)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+keyA)
	req.Header.Set("Content-Type", ct)
	return e.send(req)
}

// pendingPartBytes is the bytes of parts stored for pending uploads, from /metrics.
func (e *env) pendingPartBytes() float64 {
	return value(e.scrape(), "uploads_store_pending_part_bytes")
}

// The part-bytes limit counts the part's own bytes, not its form's: a part is refused when the
// allowance holds fewer bytes than it, with the live envelope, the part's size as Requested, what
// the key spent as Used, and the wait for the missing bytes; a refused part is not stored and not
// counted, and parts sent without a length are counted alike.
func TestRateLimitPartBytesCountsThePart(t *testing.T) {
	const perMinute = 6000 // 100 bytes a second: 10 ms a byte
	var log syncBuffer
	e := newEnv(t, withRateLimit(server.RateLimit{PartBytesPerMinute: perMinute}), withLog(&log))
	u := e.createUpload(keyA, 100_000)

	part := randomBytes(4000, 1)
	if r := e.sendPart(u.ID, part, false); r.Status != http.StatusOK {
		t.Fatalf("first part: %d %s", r.Status, r.Body)
	}
	r := e.sendPart(u.ID, part, false)
	checkEnvelope(t, r, wantEnvelope{Status: 429, Type: "requests", Code: "rate_limit_exceeded",
		Message: "Rate limit reached for part bytes per min: Limit 6000, Used 4000, Requested 4000. Please try again in 20s."})
	checkRetryAfter(t, r, 2000*10) // 2,000 bytes missing
	if got := r.Header.Get("x-should-retry"); got != "" {
		t.Errorf("x-should-retry = %q on a part that fits after a wait", got)
	}
	if got := e.pendingPartBytes(); got != 4000 {
		t.Errorf("%v part bytes stored, want the first part's 4000: a refused part is not stored", got)
	}
	if !strings.Contains(log.String(), `"msg":"rate limit exceeded"`) {
		t.Errorf("no log line for the 429:\n%s", log.String())
	}

	e.clock.Advance(20 * time.Second)
	if r := e.sendPart(u.ID, part, false); r.Status != http.StatusOK {
		t.Fatalf("the part after the wait asked for: %d %s", r.Status, r.Body)
	}
	// The allowance is empty. After 30 s it holds 3,000 bytes: a part of exactly 3,000 bytes fits,
	// though its form is larger; sent without a length, it is counted the same way.
	e.clock.Advance(30 * time.Second)
	if r := e.sendPart(u.ID, randomBytes(3000, 2), true); r.Status != http.StatusOK {
		t.Fatalf("a part of 3000 bytes with 3000 in the allowance: %d %s", r.Status, r.Body)
	}
	r = e.sendPart(u.ID, randomBytes(1, 3), true)
	checkEnvelope(t, r, wantEnvelope{Status: 429, Type: "requests", Code: "rate_limit_exceeded",
		Message: "Limit 6000, Used 6000, Requested 1. Please try again in 10ms."})
	checkRetryAfter(t, r, 10)
	if got := e.pendingPartBytes(); got != 11000 {
		t.Errorf("%v part bytes stored, want 4000+4000+3000", got)
	}
	// Other requests are not held back by the part-bytes limit.
	if r := e.do("POST", "/uploads/upload_missing/cancel", keyA, "", nil); r.Status != http.StatusNotFound {
		t.Errorf("a request without a part while the bytes are spent: %d", r.Status)
	}
}

// A part larger than the whole per-minute allowance can never fit: it is refused with a 429 that
// says so and tells clients not to retry (x-should-retry: false, no retry-after), before it is
// stored, whether its length proves it up front or its bytes do as they are read; it is not
// counted, so the key's next part that fits goes through at once. Our client, with retries, sends
// it once.
func TestRateLimitPartNeverFits(t *testing.T) {
	e := newEnv(t, withRateLimit(server.RateLimit{PartBytesPerMinute: 1024}))
	u := e.createUpload(keyA, 1<<20)

	for _, chunked := range []bool{false, true} {
		r := e.sendPart(u.ID, randomBytes(4096, 4), chunked)
		checkEnvelope(t, r, wantEnvelope{Status: 429, Type: "requests", Code: "rate_limit_exceeded",
			Message: "Rate limit reached for part bytes per min: Limit 1024. A part of more than 1024 bytes can never fit in the limit; send parts of at most 1024 bytes."})
		if got := r.Header.Get("x-should-retry"); got != "false" {
			t.Errorf("chunked %v: x-should-retry = %q, want false", chunked, got)
		}
		if got := r.Header.Get("retry-after-ms") + r.Header.Get("retry-after"); got != "" {
			t.Errorf("chunked %v: a wait is asked for (%q) where none helps", chunked, got)
		}
	}
	// A Content-Length more than 64 KiB (the most a form holds besides its part) over the
	// allowance proves the part too large before any byte is read.
	big := e.sendPart(u.ID, randomBytes(100_000, 5), false)
	checkEnvelope(t, big, wantEnvelope{Status: 429, Type: "requests", Code: "rate_limit_exceeded",
		Message: "A part of at least "})
	if got := big.Header.Get("x-should-retry"); got != "false" {
		t.Errorf("x-should-retry = %q on a part proven too large, want false", got)
	}
	if got := e.pendingPartBytes(); got != 0 {
		t.Errorf("%v part bytes stored after refusals, want 0", got)
	}
	if r := e.sendPart(u.ID, randomBytes(1024, 6), false); r.Status != http.StatusOK {
		t.Fatalf("a part of the whole allowance after the refusals: %d %s", r.Status, r.Body)
	}

	c, err := uploads.NewClient(uploads.WithBaseURL(e.URL), uploads.WithAPIKey(keyA), uploads.WithMaxRetries(4))
	if err != nil {
		t.Fatal(err)
	}
	before := value(e.scrape(), "uploads_http_requests_total", "operation", "addUploadPart", "code", "429")
	_, err = c.AddPart(context.Background(), u.ID, bytes.NewReader(randomBytes(2048, 7)))
	var apiErr *uploads.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("AddPart of a part that never fits: %v, want the 429", err)
	}
	if got := value(e.scrape(), "uploads_http_requests_total", "operation", "addUploadPart", "code", "429") - before; got != 1 {
		t.Errorf("the client sent a part that never fits %v times, want once", got)
	}
}
