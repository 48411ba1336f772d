package uploads

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The retry policy, as the official SDKs have it: at most maxRetries retries, on connection
// errors, attempts that ran out of time, and the statuses below; the server's x-should-retry
// header overrides the status rule; the wait is what retry-after-ms or retry-after asks for (at
// most maxRetryAfter), else an exponential backoff with jitter.
const (
	initialBackoff = 500 * time.Millisecond
	maxBackoff     = 8 * time.Second
	maxRetryAfter  = 60 * time.Second
)

// shouldRetry decides whether an answer with this status and these headers is worth another
// attempt. 400, 401, 403 and 404 never are: the same request would get the same answer.
func shouldRetry(status int, header http.Header) bool {
	switch status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return false
	}
	switch strings.ToLower(strings.TrimSpace(header.Get("x-should-retry"))) {
	case "true":
		return true
	case "false":
		return false
	}
	switch status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	}
	return status >= 500
}

// retryAfter is the wait the server asked for, and whether it asked for one. retry-after-ms
// (milliseconds) wins over retry-after (seconds or an HTTP date). The wait is capped at
// maxRetryAfter: a server asking for more is not followed into a long silence.
func retryAfter(header http.Header, now time.Time) (time.Duration, bool) {
	var d time.Duration
	if v := strings.TrimSpace(header.Get("retry-after-ms")); v != "" {
		ms, err := strconv.ParseFloat(v, 64)
		if err != nil || ms < 0 || math.IsNaN(ms) || math.IsInf(ms, 0) {
			return 0, false
		}
		d = time.Duration(math.Min(ms, float64(maxRetryAfter/time.Millisecond)) * float64(time.Millisecond))
	} else if v := strings.TrimSpace(header.Get("retry-after")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil {
			if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
				return 0, false
			}
			d = time.Duration(math.Min(s, maxRetryAfter.Seconds()) * float64(time.Second))
		} else if t, err := http.ParseTime(v); err == nil {
			d = max(t.Sub(now), 0)
		} else {
			return 0, false
		}
	} else {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}

// backoff is the wait before retry number retry+1 when the server did not ask for one:
// initialBackoff doubled per retry, at most maxBackoff, less up to a quarter at random so that
// clients that failed together do not retry together. jitter is in [0, 1).
func backoff(retry int, jitter float64) time.Duration {
	d := initialBackoff << min(retry, 10)
	d = min(d, maxBackoff)
	return time.Duration(float64(d) * (1 - 0.25*jitter))
}
