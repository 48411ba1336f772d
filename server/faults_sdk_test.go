package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store"
)

// The official Go SDK against the server's injected faults and rate limits: it retries what its
// rules say to retry, as many times as they say, and reads the answers into its typed error.

// retryCounts records the X-Stainless-Retry-Count of every request that reaches the server: the
// SDK numbers its attempts there.
type retryCounts struct {
	mu     sync.Mutex
	counts []string
}

func (rc *retryCounts) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		rc.counts = append(rc.counts, r.Header.Get("X-Stainless-Retry-Count"))
		rc.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// take returns the counts seen since the last take.
func (rc *retryCounts) take() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	c := rc.counts
	rc.counts = nil
	return c
}

func faultySDK(e *env, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{option.WithBaseURL(e.URL + "/"), option.WithAPIKey(keyA)}, opts...)...)
}

// Every fault on every attempt: the SDK, allowed one retry, makes two attempts and returns the
// last answer as an *openai.Error (a dropped connection as an error of its own). Nothing reached
// a handler: the upload is still pending.
func TestOfficialSDKRetriesFaults(t *testing.T) {
	var seen retryCounts
	e := newWrappedEnv(t, seen.wrap, withFaults(server.Faults{AllowHeader: true, RetryAfter: time.Millisecond}, nil))
	u := e.createUpload(keyA, 3)
	for _, tt := range []struct {
		kind    server.FaultKind
		status  int
		errType string
		code    string
	}{
		{server.FaultRateLimited, 429, "requests", "rate_limit_exceeded"},
		{server.FaultInternal, 500, "server_error", ""},
		{server.FaultBadGateway, 502, "cf_bad_gateway", ""},
		{server.FaultUnavailable, 503, "server_error", ""},
		{server.FaultReset, 0, "", ""},
	} {
		seen.take()
		c := faultySDK(e, option.WithMaxRetries(1), option.WithHeader(server.FaultHeader, string(tt.kind)))
		_, err := c.Uploads.Cancel(context.Background(), u.ID)
		var apiErr *openai.Error
		switch {
		case err == nil:
			t.Errorf("%s: cancel succeeded", tt.kind)
		case tt.status == 0 && errors.As(err, &apiErr):
			t.Errorf("%s: a dropped connection became an API error: %v", tt.kind, err)
		case tt.status != 0 && (!errors.As(err, &apiErr) || apiErr.StatusCode != tt.status || apiErr.Type != tt.errType || apiErr.Code != tt.code):
			t.Errorf("%s: err = %v, want %d %s %q", tt.kind, err, tt.status, tt.errType, tt.code)
		}
		if got := seen.take(); !slices.Equal(got, []string{"0", "1"}) {
			t.Errorf("%s: attempts seen by the server: %v, want retry counts 0 and 1", tt.kind, got)
		}
	}
	if got, err := e.store.GetUpload(context.Background(), ownerOf(keyA), u.ID, e.clock.Now().Unix()); err != nil || got.Status != store.StatusPending {
		t.Errorf("upload after faults before the handler: %+v, %v; want pending", got, err)
	}
}

// A fault on the first attempt only: the SDK's retry gets through, a part's body sent again whole.
func TestOfficialSDKRecoversFromOneFault(t *testing.T) {
	firstOnly := func(kind server.FaultKind) option.RequestOption {
		return option.WithMiddleware(func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
			if req.Header.Get("X-Stainless-Retry-Count") == "0" {
				req.Header.Set(server.FaultHeader, string(kind))
			}
			return next(req)
		})
	}
	var seen retryCounts
	e := newWrappedEnv(t, seen.wrap, withFaults(server.Faults{AllowHeader: true, RetryAfter: time.Millisecond}, nil))
	ctx := context.Background()
	content := randomBytes(50_000, 21)
	u := e.createUpload(keyA, int64(len(content)))
	resetOnce := faultySDK(e, firstOnly(server.FaultReset))
	p, err := resetOnce.Uploads.Parts.New(ctx, u.ID,
		openai.UploadPartNewParams{Data: bytes.NewReader(content)})
	if err != nil {
		t.Fatalf("part after a reset: %v", err)
	}
	sum := md5.Sum(content)
	limitedOnce := faultySDK(e, firstOnly(server.FaultRateLimited))
	done, err := limitedOnce.Uploads.Complete(ctx, u.ID,
		openai.UploadCompleteParams{PartIDs: []string{p.ID}, Md5: openai.String(hex.EncodeToString(sum[:]))})
	if err != nil || done.Status != openai.UploadStatusCompleted || done.File.Bytes != int64(len(content)) {
		t.Fatalf("complete after a 429: %v, %+v", err, done)
	}
	if got := seen.take(); !slices.Equal(got, []string{"", "0", "1", "0", "1"}) {
		t.Errorf("attempts seen by the server: %q, want the create, then two attempts of each call", got)
	}
}

// Where the SDK's rules allow no retry, there is none: a 429 asking for more than its longest
// wait, and retries turned off; both give the 429 with its headers.
func TestOfficialSDKDoesNotRetry(t *testing.T) {
	var seen retryCounts
	e := newWrappedEnv(t, seen.wrap, withFaults(server.Faults{AllowHeader: true, RetryAfter: time.Minute}, nil),
		withRateLimit(server.RateLimit{RequestsPerMinute: 2}))
	u := e.createUpload(keyA, 3) // one request of the two
	seen.take()
	c := faultySDK(e, option.WithMaxRetryDelay(10*time.Second), option.WithHeader(server.FaultHeader, string(server.FaultRateLimited)))
	_, err := c.Uploads.Cancel(context.Background(), u.ID)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Response.Header.Get("retry-after-ms") != "60000" {
		t.Errorf("429 asking for a minute: %v", err)
	}
	if got := seen.take(); len(got) != 1 {
		t.Errorf("attempts: %v, want one", got)
	}

	// The rate limit: the key's second request goes through, the third is refused.
	c = faultySDK(e, option.WithMaxRetries(0))
	if _, err := c.Uploads.Cancel(context.Background(), "upload_abc"); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("second request: %v", err)
	}
	_, err = c.Uploads.Cancel(context.Background(), u.ID)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Type != "requests" || apiErr.Code != "rate_limit_exceeded" ||
		apiErr.Response.Header.Get("retry-after-ms") != "30000" || apiErr.Response.Header.Get("retry-after") != "30" {
		t.Errorf("over the rate limit: %v", err)
	}
	if got := seen.take(); len(got) != 2 {
		t.Errorf("attempts: %v, want two", got)
	}
}

// The SDK goes through a whole upload under random 503s and resets, with the content intact.
func TestOfficialSDKUnderRandomFaults(t *testing.T) {
	var log faultLog
	e := newRawEnv(t, withFaults(server.Faults{Seed: 3, Rules: []server.FaultRule{
		{Kind: server.FaultUnavailable, Percent: 20}, {Kind: server.FaultReset, Percent: 5},
	}}, &log))
	ctx := context.Background()
	c := faultySDK(e, option.WithMaxRetries(6))
	content := randomBytes(300_000, 22)
	up, err := c.Uploads.New(ctx, openai.UploadNewParams{
		Bytes: int64(len(content)), Filename: "t.jsonl", MimeType: "text/jsonl", Purpose: openai.FilePurposeFineTune,
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	var ids []string
	for i := 0; i < len(content); i += 50_000 {
		p, err := c.Uploads.Parts.New(ctx, up.ID, openai.UploadPartNewParams{Data: bytes.NewReader(content[i : i+50_000])})
		if err != nil {
			t.Fatalf("part %d: %v", i/50_000, err)
		}
		ids = append(ids, p.ID)
	}
	sum := md5.Sum(content)
	done, err := c.Uploads.Complete(ctx, up.ID, openai.UploadCompleteParams{PartIDs: ids, Md5: openai.String(hex.EncodeToString(sum[:]))})
	if err != nil {
		t.Fatalf("complete: %v", err)
	}
	resp, err := c.Files.Content(ctx, done.File.ID)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("download: %v; %d bytes, equal to the upload: %v", err, len(got), bytes.Equal(got, content))
	}
	if len(log.kinds()) == 0 {
		t.Error("no fault was injected: the test tested nothing")
	}
	t.Logf("faults injected: %v", log.kinds())
}
