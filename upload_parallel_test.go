package uploads

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// partGate holds the parts a fake server receives so that overlap is observed, not hoped for:
// each part waits until a full round of limit parts is in flight (or every part has arrived),
// then stays in flight for hold more, long enough for any part beyond the limit to arrive.
// The round is filled whatever the timing when the client keeps to the limit; hold only gives
// a client that breaks it the time to show it.
type partGate struct {
	limit, parts int
	hold         time.Duration

	mu       sync.Mutex
	cond     *sync.Cond
	inFlight int
	arrived  int
	most     int
	over     chan struct{} // closed when more than limit parts are in flight
	timedOut bool
}

func newPartGate(limit, parts int, hold time.Duration) *partGate {
	g := &partGate{limit: limit, parts: parts, hold: hold, over: make(chan struct{})}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// enter is the fake server's part hook.
func (g *partGate) enter(*http.Request) bool {
	g.mu.Lock()
	g.inFlight++
	g.arrived++
	g.most = max(g.most, g.inFlight)
	if g.inFlight > g.limit && !g.overflowed() {
		close(g.over)
	}
	g.cond.Broadcast()
	// A client that sends fewer parts at once than it may would leave the round unfilled for
	// ever: a watchdog wakes the wait and the test fails on g.most.
	watchdog := time.AfterFunc(10*time.Second, func() {
		g.mu.Lock()
		g.timedOut = true
		g.cond.Broadcast()
		g.mu.Unlock()
	})
	for g.inFlight < g.limit && g.arrived < g.parts && !g.timedOut && !g.overflowed() {
		g.cond.Wait()
	}
	watchdog.Stop()
	g.mu.Unlock()

	select {
	case <-time.After(g.hold):
	case <-g.over:
	}

	g.mu.Lock()
	g.inFlight--
	g.mu.Unlock()
	return true
}

func (g *partGate) overflowed() bool {
	select {
	case <-g.over:
		return true
	default:
		return false
	}
}

func (g *partGate) snapshot() (most, arrived int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.most, g.arrived
}

// TestUploadReaderAtKeepsToConcurrency sends more parts than the concurrency through a server
// that keeps each round of parts in flight: exactly Concurrency parts (DefaultConcurrency when
// zero) must overlap, never more, never fewer.
func TestUploadReaderAtKeepsToConcurrency(t *testing.T) {
	tests := []struct {
		name        string
		concurrency int
		want        int
		parts       int
	}{
		{"two", 2, 2, 5},
		{"one", 1, 1, 3},
		{"default", 0, DefaultConcurrency, DefaultConcurrency + 2},
		{"more than the parts", 8, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const partSize = 1000
			data := testData(partSize*tt.parts - 7)
			fu, f := newFakeUploads(t)
			gate := newPartGate(tt.want, tt.parts, 150*time.Millisecond)
			fu.partHook = gate.enter
			c, _ := newTestClient(t, f, nil)
			_, err := c.UploadReaderAt(t.Context(), bytes.NewReader(data), int64(len(data)), UploadFileParams{
				Filename: "a.jsonl", Purpose: PurposeFineTune, PartSize: partSize, Concurrency: tt.concurrency,
			})
			if err != nil {
				t.Fatalf("UploadReaderAt: %v", err)
			}
			if file, _, _, _ := fu.snapshot(); !bytes.Equal(file, data) {
				t.Fatalf("the server reassembled %d bytes that differ from the %d sent", len(file), len(data))
			}
			if most, arrived := gate.snapshot(); most != tt.want || arrived != tt.parts {
				t.Errorf("Concurrency %d: at most %d of %d parts were in flight at once, want %d", tt.concurrency, most, arrived, tt.want)
			}
		})
	}
}

// TestUploadReaderAtReportsTheFirstFailure makes one part fail for good while a sibling is in
// flight; the sibling is then cut short by the failure and fails too, always second. The error
// must be the first failure, not the cancellation it caused.
func TestUploadReaderAtReportsTheFirstFailure(t *testing.T) {
	data := testData(2000)
	fu, _ := newFakeUploads(t)
	var (
		mu        sync.Mutex
		arrived   int
		failed    int // the part that failed first, 1 or 2
		secondIn  = make(chan struct{})
		secondOut = make(chan struct{})
	)
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/parts") {
			fu.handler(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		arrived++
		n := arrived
		mu.Unlock()
		switch n {
		case 1: // fails for good, once its sibling is in flight
			mu.Lock()
			failed = 2
			if bytes.Contains(body, data[:1000]) {
				failed = 1
			}
			mu.Unlock()
			<-secondIn
			writeJSON(w, http.StatusBadRequest, []byte(`{"error":{"message":"the part is refused","type":"invalid_request_error","param":"data","code":null}}`))
		case 2: // in flight until the client drops it
			close(secondIn)
			<-r.Context().Done()
			close(secondOut)
		default:
			t.Errorf("part request %d: the failure should have stopped the upload", n)
			writeJSON(w, http.StatusInternalServerError, errorBody(500))
		}
	})
	c, _ := newTestClient(t, f, nil)
	_, err := c.UploadReaderAt(t.Context(), bytes.NewReader(data), int64(len(data)), UploadFileParams{
		Filename: "a.jsonl", Purpose: PurposeFineTune, PartSize: 1000, Concurrency: 2,
	})
	var ue *UploadError
	if !errors.As(err, &ue) || !ue.Cancelled() {
		t.Fatalf("UploadReaderAt: got %v, want an UploadError for a cancelled upload", err)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Message != "the part is refused" {
		t.Errorf("UploadReaderAt: got %v, want the first failure, the part's 400", err)
	}
	// The sibling's error wraps the same cause, but as the failure of a cut request, of the other part.
	var urlErr *url.Error
	mu.Lock()
	defer mu.Unlock()
	if errors.Is(err, context.Canceled) || errors.As(err, &urlErr) || !strings.Contains(err.Error(), fmt.Sprintf("): part %d of 2: ", failed)) {
		t.Errorf("UploadReaderAt: got %v, the sibling's cancellation instead of the failure of part %d that caused it", err, failed)
	}
	<-secondOut // the sibling was cut short, not answered
}
