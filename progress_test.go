package uploads

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// progressCalls uploads data in parts of partSize with the client's clock stopped at now() and
// returns every Progress call.
func progressCalls(t *testing.T, data []byte, partSize int64, now func() time.Time) []Progress {
	t.Helper()
	_, f := newFakeUploads(t)
	c, _ := newTestClient(t, f, nil)
	c.now = now
	// Timers never fire: a change held back is reported only by the calls that are always made.
	c.afterFunc = func(time.Duration, func()) func() bool { return func() bool { return true } }
	var (
		mu    sync.Mutex
		calls []Progress
	)
	_, err := c.UploadReaderAt(t.Context(), bytes.NewReader(data), int64(len(data)), UploadFileParams{
		Filename: "a.jsonl", Purpose: PurposeBatch, PartSize: partSize, Concurrency: 2,
		Progress: func(p Progress) {
			mu.Lock()
			calls = append(calls, p)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("UploadReaderAt: %v", err)
	}
	return calls
}

func TestProgressIsThrottledWithFirstAndLastCalls(t *testing.T) {
	data := testData(2_000_000)
	// The clock never moves: no interval ever passes, so only the calls that are always made are.
	stopped := time.Unix(1_800_000_000, 0)
	calls := progressCalls(t, data, 100_000, func() time.Time { return stopped })
	if len(calls) != 2 {
		t.Fatalf("%d calls with a stopped clock, want 2 (the start and the end): %+v", len(calls), calls)
	}
	first, last := calls[0], calls[1]
	if first.UploadID != fakeUploadID || first.Sent != 0 || first.PartsDone != 0 || first.Parts != 20 || first.ExpiresAt.IsZero() {
		t.Errorf("first call %+v, want the created upload with nothing sent", first)
	}
	if last.Sent != int64(len(data)) || last.PartsDone != 20 {
		t.Errorf("last call %+v, want everything sent and accepted", last)
	}

	// A clock that moves a whole interval between two readings lets every change through.
	var mu sync.Mutex
	tick := stopped
	moving := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		tick = tick.Add(progressInterval)
		return tick
	}
	if n := len(progressCalls(t, data, 100_000, moving)); n < 40 {
		t.Errorf("%d calls with a moving clock, want one per change (over 40)", n)
	}
}
