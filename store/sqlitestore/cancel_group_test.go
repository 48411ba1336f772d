package sqlitestore

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// TestConcurrentCancelsEachGetTheirOutcome: cancels sent at once share transactions, and each
// still gets its own outcome: a pending upload is cancelled, a completed or unknown one refused,
// and one whose statement fails (a trigger aborts it) fails alone and stays pending with its
// parts, while the others of its group commit.
func TestConcurrentCancelsEachGetTheirOutcome(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE doomed (id TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `CREATE TRIGGER fault BEFORE UPDATE ON uploads
		WHEN NEW.id IN (SELECT id FROM doomed) BEGIN SELECT RAISE(ABORT, 'injected fault'); END`); err != nil {
		t.Fatal(err)
	}
	const each = 16
	type call struct {
		kind     string
		uploadID string
		err      error
	}
	var calls []*call
	for range each {
		p := mustCreate(t, s, 2)
		mustAddPart(t, s, p.ID, "ab")
		calls = append(calls, &call{kind: "pending", uploadID: p.ID})

		c := mustCreate(t, s, 2)
		mustComplete(t, s, c.ID, mustAddPart(t, s, c.ID, "cd").ID)
		calls = append(calls, &call{kind: "completed", uploadID: c.ID})

		calls = append(calls, &call{kind: "unknown", uploadID: randomID("upload_")})

		d := mustCreate(t, s, 2)
		mustAddPart(t, s, d.ID, "ef")
		if _, err := s.write.ExecContext(ctx, `INSERT INTO doomed (id) VALUES (?)`, d.ID); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, &call{kind: "failing", uploadID: d.ID})
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, c := range calls {
		wg.Go(func() {
			<-start
			_, c.err = s.Cancel(ctx, owner, c.uploadID, t0)
		})
	}
	close(start)
	wg.Wait()

	for _, c := range calls {
		var se *store.StateError
		switch c.kind {
		case "pending":
			if c.err != nil {
				t.Errorf("cancel of a pending upload: %v", c.err)
			}
			wantStatus(t, s, c.uploadID, store.StatusCancelled)
		case "completed":
			if !errors.As(c.err, &se) || se.Status != store.StatusCompleted {
				t.Errorf("cancel of a completed upload: %v, want a StateError (completed)", c.err)
			}
			wantStatus(t, s, c.uploadID, store.StatusCompleted)
		case "unknown":
			if !errors.Is(c.err, store.ErrNotFound) {
				t.Errorf("cancel of an unknown upload: %v, want ErrNotFound", c.err)
			}
		case "failing":
			if c.err == nil || errors.As(c.err, &se) {
				t.Errorf("cancel whose update fails: %v, want the injected fault", c.err)
			}
			wantStatus(t, s, c.uploadID, store.StatusPending)
			var parts int
			if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM parts WHERE upload_id = ?`, c.uploadID).Scan(&parts); err != nil || parts != 1 {
				t.Errorf("upload whose cancel failed has %d parts (%v), want 1", parts, err)
			}
		}
	}
}

// TestCancelWithAnEndedContext: a cancel whose context has ended changes nothing.
func TestCancelWithAnEndedContext(t *testing.T) {
	s := openTemp(t, t.TempDir())
	u := mustCreate(t, s, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Cancel(ctx, owner, u.ID, t0); !errors.Is(err, context.Canceled) {
		t.Errorf("Cancel with an ended context: %v, want context.Canceled", err)
	}
	wantStatus(t, s, u.ID, store.StatusPending)
}

// wantStatus fails t unless the upload's stored status at t0 is want.
func wantStatus(t *testing.T, s *Store, uploadID string, want store.Status) {
	t.Helper()
	got, err := s.GetUpload(context.Background(), owner, uploadID, t0)
	if err != nil || got.Status != want {
		t.Errorf("upload %s: status %s (%v), want %s", uploadID, got.Status, err, want)
	}
}
