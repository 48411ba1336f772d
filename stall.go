package uploads

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// stallError is the cause of an attempt cut off because no byte of its body moved for the stall
// timeout (WithStallTimeout). Like an attempt timeout it is a context.DeadlineExceeded for
// errors.Is, and retried.
type stallError struct{ after time.Duration }

func (e *stallError) Error() string {
	return fmt.Sprintf("stalled: no byte moved for %v", e.after)
}
func (e *stallError) Is(target error) bool { return target == context.DeadlineExceeded }
func (e *stallError) Timeout() bool        { return true }

// watchdog cuts an attempt off when it has waited too long: with the stall period while bytes are
// moving (every byte moved starts the period again), with the attempt timeout once there is
// nothing left to send and the answer is awaited. A period of zero waits for ever.
type watchdog struct {
	afterFunc func(d time.Duration, f func()) (stop func() bool)
	now       func() time.Time
	trip      func(cause error)

	mu      sync.Mutex
	period  time.Duration
	cause   error
	last    time.Time // when a byte last moved
	moves   bool      // a byte moved since the period started
	stop    func() bool
	stopped bool // disarmed, or tripped
	tripped bool
}

// newWatchdog returns a disarmed watchdog that calls trip with its cause when it runs out.
func (c *Client) newWatchdog(trip func(cause error)) *watchdog {
	return &watchdog{afterFunc: c.afterFunc, now: c.now, trip: trip, stopped: true}
}

// arm starts a period of d from now, replacing any running one; cause is what trip is called with
// when the period passes without a byte moving.
func (w *watchdog) arm(d time.Duration, cause error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.tripped {
		return
	}
	if w.stop != nil {
		w.stop()
		w.stop = nil
	}
	w.period, w.cause, w.moves, w.stopped = d, cause, false, d <= 0
	if d > 0 {
		w.stop = w.afterFunc(d, w.fire)
	}
}

// moved notes that bytes moved: the running period starts again.
func (w *watchdog) moved() {
	w.mu.Lock()
	w.last, w.moves = w.now(), true
	w.mu.Unlock()
}

// disarm stops the watchdog and reports whether it had not tripped.
func (w *watchdog) disarm() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stop != nil {
		w.stop()
		w.stop = nil
	}
	w.stopped = true
	return !w.tripped
}

// fire runs when a period may have passed: it trips when no byte moved since, and waits for the
// rest of the period otherwise.
func (w *watchdog) fire() {
	w.mu.Lock()
	if w.stopped || w.tripped {
		w.mu.Unlock()
		return
	}
	// The timer ran for a whole period: without a move since it started, that is the end.
	if rest := w.last.Add(w.period).Sub(w.now()); w.moves && rest > 0 {
		w.stop = w.afterFunc(rest, w.fire)
		w.mu.Unlock()
		return
	}
	w.tripped, w.stopped = true, true
	cause := w.cause
	w.mu.Unlock()
	w.trip(cause)
}

type watchdogKey struct{}

// watchedBody is a request body that tells the attempt's watchdog of every byte read from it,
// and, at its end, that the answer is now awaited.
type watchedBody struct {
	r       io.Reader
	dog     *watchdog
	timeout time.Duration
	cause   error
}

// watchBody wraps body for the watchdog the attempt put in ctx, if any.
func watchBody(ctx context.Context, body io.Reader) io.Reader {
	wb, ok := ctx.Value(watchdogKey{}).(*watchedBody)
	if !ok {
		return body
	}
	return &watchedBody{r: body, dog: wb.dog, timeout: wb.timeout, cause: wb.cause}
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		b.dog.moved()
	}
	if errors.Is(err, io.EOF) {
		// All sent: from now on the server has the attempt timeout to answer.
		b.dog.arm(b.timeout, b.cause)
	}
	return n, err
}

// watchedAnswer is the body of a streamed answer, cut off when no byte of it arrives for the stall
// timeout.
type watchedAnswer struct {
	io.ReadCloser
	dog   *watchdog
	ctx   context.Context // the attempt's, whose cause says why a read failed
	close func()
}

func (b *watchedAnswer) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.dog.moved()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		var se *stallError
		if cause := context.Cause(b.ctx); errors.As(cause, &se) && !errors.As(err, &se) {
			err = fmt.Errorf("%w: %w", err, cause)
		}
	}
	return n, err
}

func (b *watchedAnswer) Close() error {
	b.dog.disarm()
	err := b.ReadCloser.Close()
	b.close()
	return err
}
