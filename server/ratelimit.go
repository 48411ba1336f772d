package server

import (
	"fmt"
	"io"
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
	// PartBytesPerMinute is how many bytes of addUploadPart request bodies a key may send per
	// minute; 0 sets no limit. A part whose Content-Length is known is refused at once when the
	// bucket holds less than that (or, for a part larger than the whole allowance, less than a
	// full bucket); a part sent without a length is let through while the key owes nothing. The
	// bytes are counted as they are read, so a key can go into debt, and its next part waits
	// until the debt is paid off.
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

// Types of the error a rate-limited request is answered with. The live service names the
// exhausted resource: "requests" or "tokens"; parts are limited in bytes.
const (
	typeRequests = "requests"
	typeBytes    = "bytes"

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

// limitRate answers 429 to a request over its key's limits, and counts the bytes of the parts it
// lets through. It runs after authenticate, which sets the owner.
func (s *Server) limitRate(next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := s.limiter.buckets(owner(r.Context()))
		now := s.now()
		isPart := b.bytes != nil && s.operationOf(r) == opAddUploadPart
		if isPart {
			need := 1.0
			if r.ContentLength > 0 {
				need = float64(min(r.ContentLength, int64(b.bytes.Burst())))
			}
			if wait := waitFor(b.bytes, need, now); wait > 0 {
				s.refuseRate(w, r, typeBytes, b.bytes, int64(need), wait, now)
				return
			}
		}
		if b.requests != nil && !b.requests.AllowN(now, 1) {
			s.refuseRate(w, r, typeRequests, b.requests, 1, waitFor(b.requests, 1, now), now)
			return
		}
		if isPart {
			r.Body = &chargedBody{ReadCloser: r.Body, bucket: b.bytes, now: s.now}
		}
		next.ServeHTTP(w, r)
	})
}

// refuseRate answers 429 as the live service does: the error envelope, and the wait in
// retry-after-ms (milliseconds) and retry-after (whole seconds, rounded up).
func (s *Server) refuseRate(w http.ResponseWriter, r *http.Request, kind string, lim *rate.Limiter, requested int64, wait time.Duration, now time.Time) {
	limit := lim.Burst()
	used := int64(limit) - int64(math.Floor(max(lim.TokensAt(now), 0)))
	what := "requests per min (RPM)"
	if kind == typeBytes {
		what = "part bytes per min"
	}
	s.logger.LogAttrs(r.Context(), slog.LevelWarn, "rate limit exceeded",
		slog.String("request_id", requestID(r.Context())),
		slog.String("limit", kind),
		slog.Duration("retry_after", wait))
	discardBody(r, s.maxPart+multipartSlack)
	setRetryAfter(w.Header(), wait)
	writeError(w, &apiError{
		Status: http.StatusTooManyRequests,
		Message: fmt.Sprintf("Rate limit reached for %s: Limit %d, Used %d, Requested %d. Please try again in %v.",
			what, limit, used, requested, wait),
		Type: kind,
		Code: codeRateLimitExceeded,
	})
}

// setRetryAfter sets the two headers that tell a client how long to wait.
func setRetryAfter(h http.Header, wait time.Duration) {
	h.Set("retry-after-ms", strconv.FormatInt(wait.Milliseconds(), 10))
	h.Set("retry-after", strconv.FormatInt(int64(math.Ceil(wait.Seconds())), 10))
}

// chargedBody takes the bytes read through it from a bucket. A read larger than the bucket is
// taken in bucket-sized pieces, each of which the limiter accepts even when it leaves a debt.
type chargedBody struct {
	io.ReadCloser
	bucket *rate.Limiter
	now    func() time.Time
}

func (b *chargedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		now, burst := b.now(), b.bucket.Burst()
		for left := n; left > 0; left -= burst {
			b.bucket.ReserveN(now, min(left, burst))
		}
	}
	return n, err
}
