package sqlitestore

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// TestCancelRateTarget checks the cancel target of BENCHMARKS.md as a ratio measured in one run:
// Cancel (one synced transaction, shared by concurrent cancels; files removed in the background)
// serves at least 3 times the cancels per second of the cancel it replaced (cancelAsBefore: two
// synced transactions of its own and the removal of the upload's directory before the answer),
// which it runs beside it, on the same store, in alternating rounds. Each round's time includes
// what the background remover still had to do at its end, so work moved off the request path is
// counted, not hidden. Timings depend on the machine, so it runs only with UPLOADS_BENCH_ASSERT=1
// (make bench-check).
func TestCancelRateTarget(t *testing.T) {
	if os.Getenv("UPLOADS_BENCH_ASSERT") != "1" {
		t.Skip("set UPLOADS_BENCH_ASSERT=1 to check the performance targets")
	}
	s := openTemp(t, t.TempDir())
	before := func(ctx context.Context, uploadID string) error {
		_, err := cancelAsBefore(ctx, s, owner, uploadID, t0)
		return err
	}
	now := func(ctx context.Context, uploadID string) error {
		_, err := s.Cancel(ctx, owner, uploadID, t0)
		return err
	}
	for _, tc := range []struct {
		callers int
		want    float64
	}{{1, 1.5}, {16, 3}} {
		t.Run(fmt.Sprintf("callers=%d", tc.callers), func(t *testing.T) {
			const rounds, perRound = 3, 100
			var spent, settling [2]time.Duration
			for range rounds {
				for i, cancel := range []func(context.Context, string) error{before, now} {
					d, settle := cancelRound(t, s, cancel, tc.callers, perRound)
					spent[i] += d
					settling[i] += settle
				}
			}
			ratio := float64(spent[0]) / float64(spent[1])
			n := rounds * perRound
			t.Logf("%d cancels each, %d callers: before %v (%.0f/s), now %v (%.0f/s, of which %v settling): %.2fx",
				n, tc.callers, spent[0], float64(n)/spent[0].Seconds(), spent[1], float64(n)/spent[1].Seconds(),
				settling[1], ratio)
			if ratio < tc.want {
				t.Errorf("cancels at %.2fx the rate before, want at least %.1fx", ratio, tc.want)
			}
		})
	}
}

// cancelRound cancels n fresh uploads, each with one part, with callers goroutines, and returns
// the time taken, until the part files are removed and the uploads marked released, and the part
// of it spent waiting for the background remover (Settle) after the last answer.
func cancelRound(t *testing.T, s *Store, cancel func(context.Context, string) error, callers, n int) (time.Duration, time.Duration) {
	t.Helper()
	ids := make(chan string, n)
	for range n {
		u := mustCreate(t, s, 1)
		mustAddPart(t, s, u.ID, "x")
		ids <- u.ID
	}
	close(ids)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	start := time.Now()
	for range callers {
		wg.Go(func() {
			for id := range ids {
				if err := cancel(context.Background(), id); err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	answered := time.Now()
	// What the background remover has yet to do is part of the cost.
	settled := s.Settle(context.Background())
	d := time.Since(start)
	if failed != nil {
		t.Fatalf("cancel: %v", failed)
	}
	if settled != nil {
		t.Fatal(settled)
	}
	return d, time.Since(answered)
}

// cancelAsBefore is Cancel as it was before group commit and the background remover (the
// commit before ae4ee2c), kept here verbatim as the baseline of TestCancelRateTarget, so that
// changes to today's Cancel and its helpers do not move the baseline: one transaction (read the
// upload, mark it cancelled and releasing, delete its parts' rows), synced; then the removal of
// the upload's directory and a second synced transaction marking its bytes released, both before
// the answer.
func cancelAsBefore(ctx context.Context, s *Store, owner, uploadID string, now int64) (store.Upload, error) {
	var u record.Upload
	err := s.freeing(func() error {
		tx, err := s.write.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("cancel upload %s: %w", uploadID, err)
		}
		defer tx.Rollback()
		if err := tx.QueryRowContext(ctx, `SELECT `+record.UploadColumns+` FROM uploads WHERE id = ? AND owner = ?`,
			uploadID, owner).Scan(u.ScanTargets()...); err != nil {
			return fmt.Errorf("cancel: read upload %s: %w", uploadID, err)
		}
		if err := u.StateError("cancel", now); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE uploads SET status = 'cancelled', bytes_state = ?
		WHERE id = ? AND status = 'pending' AND bytes_state = 0`, record.BytesReleasing, uploadID)
		if err != nil {
			return fmt.Errorf("cancel upload %s: %w", uploadID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("cancel upload %s: the upload changed under the write lock (rows %d, %v)", uploadID, n, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM parts WHERE upload_id = ?`, uploadID); err != nil {
			return fmt.Errorf("cancel upload %s: delete parts: %w", uploadID, err)
		}
		return tx.Commit()
	})
	if err != nil {
		return store.Upload{}, err
	}
	// releaseBytes as it was: no lock shared with a remover (there was none), os.RemoveAll.
	ctx = context.WithoutCancel(ctx)
	if err := os.RemoveAll(s.uploadDir(uploadID)); err == nil {
		_ = s.freeing(func() error {
			_, err := s.write.ExecContext(ctx, `UPDATE uploads SET bytes_state = ? WHERE id = ? AND bytes_state = ?`,
				record.BytesReleased, uploadID, record.BytesReleasing)
			return err
		})
	}
	if s.reserveMissing.Load() {
		_ = s.keepReserve()
	}
	cancelled := u.Upload
	cancelled.Status = store.StatusCancelled
	return cancelled, nil
}
