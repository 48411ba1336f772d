package server

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit limits what each API key may do per minute. The live service answers a client over
// its limits with 429; a server with limits lets a client's handling of that be tested. The zero
// value sets no limit.
//
// Each limit is a token bucket (golang.org/x/time/rate) that holds one minute's worth and refills
// continuously, so a key may spend a whole minute's allowance at once and then a steady
// 1/60 of it per second. Every key has its own buckets.
type RateLimit struct {
	// RequestsPerMinute is how many requests under /v1 a key may make per minute; 0 sets no limit.
	// Requests refused with 401 are not counted; requests refused with 429 are not either.
	RequestsPerMinute int
	// PartBytesPerMinute is how many bytes of parts (the content of addUploadPart's data field,
	// not the multipart form around it) a key may send per minute; 0 sets no limit. A part is
	// counted once its bytes have all been read, before it is stored: when the key's allowance
	// holds fewer bytes than the part, the part is refused with 429 and not stored, and the
	// retry-after headers say when the allowance holds it. A part larger than the whole
	// allowance can never fit: it is refused (429 with x-should-retry: false, so clients do not
	// retry it) up front when its Content-Length proves it, else as soon as its bytes read pass
	// the allowance. A part refused for another reason is not counted, nor is a request refused
	// with 401 or 429.
	PartBytesPerMinute int64
}

func (l RateLimit) enabled() bool { return l.RequestsPerMinute > 0 || l.PartBytesPerMinute > 0 }

func (l RateLimit) check() error {
	if l.RequestsPerMinute < 0 {
		return fmt.Errorf("rate limit: %d requests per minute is negative", l.RequestsPerMinute)
	}
	if l.PartBytesPerMinute < 0 {
		return fmt.Errorf("rate limit: %d part bytes per minute is negative", l.PartBytesPerMinute)
	}
	if int64(int(l.PartBytesPerMinute)) != l.PartBytesPerMinute {
		return fmt.Errorf("rate limit: %d part bytes per minute is too large", l.PartBytesPerMinute)
	}
	return nil
}

// The type and code of the error a rate-limited request is answered with: the live service's
// envelope for its request limits. The part-bytes limit answers with the same ones (the live
// service is not known to send any other type for the Uploads API); its message names the limit.
const (
	typeRequests = "requests"

	codeRateLimitExceeded = "rate_limit_exceeded"
)

// rateLimiter keeps the buckets of every key that made a request.
type rateLimiter struct {
	limits RateLimit
	mu     sync.Mutex
	keys   map[string]*keyBuckets // by owner
}

// keyBuckets are one key's buckets; a nil bucket is a resource without a limit.
type keyBuckets struct {
	requests *rate.Limiter
	bytes    *rate.Limiter
}

func newRateLimiter(l RateLimit) *rateLimiter {
	return &rateLimiter{limits: l, keys: make(map[string]*keyBuckets)}
}

// perMinute is a bucket that holds n and refills it over a minute.
func perMinute(n int) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(float64(n)/60), n)
}

// buckets are the buckets of owner, made on its first request. The keys are the configured ones,
// so the map stays small.
func (rl *rateLimiter) buckets(owner string) *keyBuckets {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	b, ok := rl.keys[owner]
	if !ok {
		b = &keyBuckets{}
		if rl.limits.RequestsPerMinute > 0 {
			b.requests = perMinute(rl.limits.RequestsPerMinute)
		}
		if rl.limits.PartBytesPerMinute > 0 {
			b.bytes = perMinute(int(rl.limits.PartBytesPerMinute))
		}
		rl.keys[owner] = b
	}
	return b
}

// waitFor is how long lim takes, from now, to hold need tokens, in whole milliseconds rounded up
// (ignoring what floating point adds to an exact count): 0 when it holds them already.
func waitFor(lim *rate.Limiter, need float64, now time.Time) time.Duration {
	missing := need - lim.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	ms := missing / float64(lim.Limit()) * 1000
	return max(time.Duration(math.Ceil(ms-1e-6))*time.Millisecond, time.Millisecond)
}

// limitRate answers 429 to a request over its key's request limit, and hands the key's part-bytes
// bucket to addUploadPart, which counts the part's bytes as it reads them (see partCharge). It
// runs after authenticate, which sets the owner.
func (s *Server) limitRate(next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := s.limiter.buckets(owner(r.Context()))
		now := s.now()
		isPart := b.bytes != nil && s.operationOf(r) == opAddUploadPart
		if isPart && r.ContentLength-multipartSlack > int64(b.bytes.Burst()) {
			// The form holds at most multipartSlack bytes besides the part: the part is larger
			// than the whole allowance, and no wait makes it fit.
			s.refuseNeverFits(w, r, int64(b.bytes.Burst()), r.ContentLength-multipartSlack, true)
			return
		}
		if b.requests != nil && !b.requests.AllowN(now, 1) {
			s.refuseRate(w, r, "requests per min (RPM)", b.requests, 1, waitFor(b.requests, 1, now), now)
			return
		}
		if isPart {
			r = r.WithContext(context.WithValue(r.Context(), partChargeKey{}, &partCharge{bucket: b.bytes, now: s.now}))
		}
		next.ServeHTTP(w, r)
	})
}

// refuseRate answers 429 as the live service does: the error envelope, and the wait in
// retry-after-ms (milliseconds) and retry-after (whole seconds, rounded up). Used is what the key
// spent of its allowance, as the bucket holds it now.
func (s *Server) refuseRate(w http.ResponseWriter, r *http.Request, what string, lim *rate.Limiter, requested int64, wait time.Duration, now time.Time) {
	s.logRefusal(r.Context(), what, wait)
	discardBody(r, s.maxPart+multipartSlack)
	setRetryAfter(w.Header(), wait)
	writeError(w, rateError(what, lim, requested, wait, now))
}

// rateError is the 429 for a request of requested units over lim.
func rateError(what string, lim *rate.Limiter, requested int64, wait time.Duration, now time.Time) *apiError {
	limit := lim.Burst()
	used := int64(limit) - int64(math.Floor(max(lim.TokensAt(now), 0)))
	return &apiError{
		Status: http.StatusTooManyRequests,
		Message: fmt.Sprintf("Rate limit reached for %s: Limit %d, Used %d, Requested %d. Please try again in %v.",
			what, limit, used, requested, wait),
		Type: typeRequests,
		Code: codeRateLimitExceeded,
	}
}

func (s *Server) logRefusal(ctx context.Context, what string, wait time.Duration) {
	s.logger.LogAttrs(ctx, slog.LevelWarn, "rate limit exceeded",
		slog.String("request_id", requestID(ctx)),
		slog.String("limit", what),
		slog.Duration("retry_after", wait))
}

// partBytesLimit names the part-bytes limit in answers.
const partBytesLimit = "part bytes per min"

// neverFitsError is the 429 for a part larger than the whole per-minute allowance: the live
// envelope, with x-should-retry: false, as no wait makes it fit. proven says the size is a lower
// bound (from the Content-Length) rather than the bytes read so far.
func neverFitsError(limit, atLeast int64, proven bool) *apiError {
	how := "of more than"
	size := limit
	if proven {
		how, size = "of at least", atLeast
	}
	return &apiError{
		Status: http.StatusTooManyRequests,
		Message: fmt.Sprintf("Rate limit reached for %s: Limit %d. A part %s %d bytes can never fit in the limit; "+
			"send parts of at most %d bytes. Do not retry this request.", partBytesLimit, limit, how, size, limit),
		Type:       typeRequests,
		Code:       codeRateLimitExceeded,
		DoNotRetry: true,
	}
}

func (s *Server) refuseNeverFits(w http.ResponseWriter, r *http.Request, limit, atLeast int64, proven bool) {
	s.logRefusal(r.Context(), partBytesLimit, 0)
	discardBody(r, s.maxPart+multipartSlack)
	writeError(w, neverFitsError(limit, atLeast, proven))
}

// setRetryAfter sets the two headers that tell a client how long to wait.
func setRetryAfter(h http.Header, wait time.Duration) {
	h.Set("retry-after-ms", strconv.FormatInt(wait.Milliseconds(), 10))
	h.Set("retry-after", strconv.FormatInt(int64(math.Ceil(wait.Seconds())), 10))
}

// partChargeKey is the context key of a part request's partCharge.
type partChargeKey struct{}

// partCharge counts a part's bytes against its key's part-bytes bucket, as addUploadPart reads
// them. Only the bytes of the data field are counted.
type partCharge struct {
	bucket *rate.Limiter
	now    func() time.Time
	n      int64
}

func partChargeOf(ctx context.Context) *partCharge {
	c, _ := ctx.Value(partChargeKey{}).(*partCharge)
	return c
}

// read counts n more bytes of the part: an error once they pass the whole allowance.
func (c *partCharge) read(n int) error {
	c.n += int64(n)
	if limit := int64(c.bucket.Burst()); c.n > limit {
		return neverFitsError(limit, c.n, false)
	}
	return nil
}

// end takes the whole part from the bucket, or fails with the 429 saying when it would fit.
func (c *partCharge) end() error {
	if c.n == 0 {
		return nil
	}
	now := c.now()
	if c.bucket.AllowN(now, int(c.n)) {
		return nil
	}
	wait := waitFor(c.bucket, float64(c.n), now)
	e := rateError(partBytesLimit, c.bucket, c.n, wait, now)
	e.RetryAfter = wait
	return e
}
