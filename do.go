package uploads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxResponseBody bounds how much of a JSON answer the client reads. Every answer of this API is
// far smaller.
const maxResponseBody = 1 << 20

// attemptTimeoutError is the cause of an attempt that ran out of the time WithTimeout gives it. It
// is a context.DeadlineExceeded for errors.Is.
type attemptTimeoutError struct{ after time.Duration }

func (e *attemptTimeoutError) Error() string {
	return fmt.Sprintf("attempt timed out after %v", e.after)
}
func (e *attemptTimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }
func (e *attemptTimeoutError) Timeout() bool        { return true }

// request is one operation for do to send, retrying as the policy allows.
type request struct {
	op string
	// send sends one attempt with the given context.
	send func(ctx context.Context) (*http.Response, error)
	// rewind, when not nil, is called before every attempt after the first; it puts the request
	// body back to its start. An error stops the retries.
	rewind func() error
	// noRetry, when not empty, says why the request cannot be sent a second time (its body
	// cannot be rewound).
	noRetry string
	// history, when not nil, is told how the attempts went.
	history *attempts
	// stream leaves the body of a 2xx answer unread, for the caller to read and close.
	stream bool
	// watch is true when the body is a part: while it is sent, the attempt is bounded by the stall
	// timeout instead of the attempt timeout (see watchBody).
	watch bool
}

// attempts is what do tells a caller about the attempts behind its result, so that a call which
// is not idempotent can tell a refusal of the request from a refusal of its own earlier effect.
type attempts struct {
	// lost is the failure of the first attempt that was retried although it may have taken effect
	// on the server without its answer arriving: a connection error or timeout, or a 408 or 5xx
	// (which a gateway may send after passing the request on). nil when no retried attempt may
	// have taken effect.
	lost error
	// uncertain is true when some attempt, the final one included, may have taken effect without
	// its answer arriving.
	uncertain bool
}

// mayHaveTakenEffect reports whether an attempt answered with this status may have changed
// something on the server nonetheless: a gateway sends 408, 502 or 504 after passing the request
// on, and a server may fail after doing the work.
func mayHaveTakenEffect(status int) bool {
	return status == http.StatusRequestTimeout || status >= 500
}

// do sends r, retrying as the policy allows, and returns the successful answer with its body read
// (or, with r.stream, unread). Every failure is an *APIError or wraps the transport's error.
func (c *Client) do(ctx context.Context, r request) (*http.Response, []byte, error) {
	var h attempts
	if r.history == nil {
		r.history = &h
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 && r.rewind != nil {
			if err := r.rewind(); err != nil {
				return nil, nil, fmt.Errorf("%s: rewind the body to retry: %w", r.op, err)
			}
		}
		resp, body, err := c.attempt(ctx, r)
		if err == nil && resp.StatusCode/100 == 2 {
			return resp, body, nil
		}
		var (
			retry     bool
			header    http.Header
			uncertain bool
		)
		if err != nil {
			uncertain = true
			if ctx.Err() != nil {
				r.history.uncertain = true
				return nil, nil, fmt.Errorf("%s: %w", r.op, err)
			}
			err = fmt.Errorf("%s: %w", r.op, err)
			retry = true
		} else {
			uncertain = mayHaveTakenEffect(resp.StatusCode)
			err = newAPIError(r.op, resp, body)
			header = resp.Header
			retry = shouldRetry(resp.StatusCode, header)
		}
		r.history.uncertain = r.history.uncertain || uncertain
		if !retry || r.noRetry != "" || attempt >= c.maxRetries {
			switch {
			case attempt > 0:
				err = fmt.Errorf("%w (gave up after %d attempts)", err, attempt+1)
			case retry && r.noRetry != "" && c.maxRetries > 0:
				err = fmt.Errorf("%w (not retried: %s)", err, r.noRetry)
			}
			return nil, nil, err
		}
		wait, ok := retryAfter(header, c.now())
		if !ok {
			wait = backoff(attempt, c.jitter())
		}
		if deadline, ok := ctx.Deadline(); ok && c.now().Add(wait).After(deadline) {
			return nil, nil, fmt.Errorf("%w (not retried: the wait of %v would pass the context's deadline)", err, wait)
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return nil, nil, fmt.Errorf("%w (not retried: %w)", err, serr)
		}
		if uncertain && r.history.lost == nil {
			r.history.lost = err
		}
	}
}

// attempt sends r once and reads the body unless it streams. A watchdog bounds each wait: the
// per-attempt timeout for the answer; for a part (r.watch), the stall timeout while its bytes are
// sent, then the per-attempt timeout for the answer; for a streamed answer, the stall timeout
// while its body is read.
func (c *Client) attempt(ctx context.Context, r request) (*http.Response, []byte, error) {
	actx, cancel := context.WithCancelCause(ctx)
	timeout := &attemptTimeoutError{after: c.timeout}
	dog := c.newWatchdog(func(cause error) { cancel(cause) })
	sendCtx := actx
	if r.watch {
		dog.arm(c.stallTimeout, &stallError{after: c.stallTimeout})
		sendCtx = context.WithValue(actx, watchdogKey{}, &watchedBody{dog: dog, timeout: c.timeout, cause: timeout})
	} else {
		dog.arm(c.timeout, timeout)
	}
	// timedOut makes sure an error of an attempt that ran out of time says so.
	timedOut := func(err error) error {
		if ctx.Err() != nil {
			return err
		}
		cause := context.Cause(actx)
		var te *attemptTimeoutError
		var se *stallError
		if (errors.As(cause, &te) || errors.As(cause, &se)) && !errors.As(err, &te) && !errors.As(err, &se) {
			return fmt.Errorf("%w: %w", err, cause)
		}
		return err
	}
	resp, err := r.send(sendCtx)
	if err != nil {
		dog.disarm()
		err = timedOut(err)
		cancel(nil)
		return nil, nil, err
	}
	if r.stream && resp.StatusCode/100 == 2 {
		if !dog.disarm() {
			resp.Body.Close()
			cause := context.Cause(actx)
			cancel(nil)
			return nil, nil, cause
		}
		dog.arm(c.stallTimeout, &stallError{after: c.stallTimeout})
		resp.Body = &watchedAnswer{ReadCloser: resp.Body, dog: dog, ctx: actx, close: func() { cancel(nil) }}
		return resp, nil, nil
	}
	body, err := readAnswer(resp.Body, resp.ContentLength)
	resp.Body.Close()
	dog.disarm()
	if err != nil {
		err = timedOut(err)
		cancel(nil)
		return nil, nil, fmt.Errorf("read the answer: %w", err)
	}
	cancel(nil)
	if len(body) > maxResponseBody {
		if resp.StatusCode/100 == 2 {
			return nil, nil, fmt.Errorf("read the answer: body is over %d bytes", maxResponseBody)
		}
		body = body[:maxResponseBody]
	}
	return resp, body, nil
}

// readAnswer reads body to its end, but at most maxResponseBody+1 bytes. When the answer says its
// length (contentLength >= 0), the buffer is made that size at once, so an answer costs one
// allocation instead of a doubling buffer.
func readAnswer(body io.Reader, contentLength int64) ([]byte, error) {
	const limit = maxResponseBody + 1
	size := 512
	if contentLength >= 0 && contentLength < limit {
		// One byte more, so the read that finds the end has room and needs no growing.
		size = int(contentLength) + 1
	}
	b := make([]byte, 0, size)
	for len(b) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := body.Read(b[len(b):min(cap(b), limit)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

// realSleep waits for d or until ctx is done.
func realSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// realAfterFunc runs f after d, unless the returned stop is called first; stop reports whether it
// stopped f from running.
func realAfterFunc(d time.Duration, f func()) (stop func() bool) {
	return time.AfterFunc(d, f).Stop
}

// errNoObject says a successful answer did not hold the object asked for.
var errNoObject = errors.New("the answer is not an object with an id")

// objectID is the id of the object an answer decoded into: read from the decoded value for the
// types this package decodes, so that an answer is not parsed twice, else from body.
func objectID(out any, body []byte) string {
	switch v := out.(type) {
	case *Upload:
		return v.ID
	case *UploadPart:
		return v.ID
	case *File:
		return v.ID
	case *FileDeleted:
		return v.ID
	case *FileList:
		// A list has no id of its own: it is the object asked for when it holds its array.
		if v.Data == nil {
			return ""
		}
		return string(v.Object) + " list"
	}
	var head struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &head) != nil {
		return ""
	}
	return head.ID
}

// callJSON sends r and decodes the JSON answer into out. Unknown fields and enum values decode
// without error; the raw answer goes to CaptureResponse.
func (c *Client) callJSON(ctx context.Context, r request, opts []CallOption, out any) error {
	resp, body, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: decode the answer (%d, %q): %w", r.op, resp.StatusCode, snippet(body), err)
	}
	// Every object this API returns has an id. A success without one (null, {}, an error envelope
	// sent with 200 by a proxy) decoded to nothing usable and must not pass for the object.
	if objectID(out, body) == "" {
		return fmt.Errorf("%s: decode the answer (%d, %q): %w", r.op, resp.StatusCode, snippet(body), errNoObject)
	}
	if len(opts) == 0 {
		return nil
	}
	if cc := applyCallOptions(opts); cc.response != nil {
		*cc.response = Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}
	}
	return nil
}
