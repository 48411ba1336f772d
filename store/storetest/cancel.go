package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/uploadkit/uploads/store"
)

func testCancel(t *testing.T, s store.Store) {
	ctx := context.Background()
	t.Run("pending", func(t *testing.T) {
		u, parts := uploadWithParts(t, s, t0, "abc")
		got, err := s.Cancel(ctx, alice, u.ID, t0+1)
		if err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if got.Status != store.StatusCancelled {
			t.Errorf("Cancel returned status %s, want cancelled", got.Status)
		}
		_, err = s.Cancel(ctx, alice, u.ID, t0+2)
		wantStateError(t, err, u.ID, store.StatusCancelled)
		_, _, err = s.Complete(ctx, alice, u.ID, parts, "", newFileID(), store.At(t0+2))
		wantStateError(t, err, u.ID, store.StatusCancelled)
	})
	t.Run("completed", func(t *testing.T) {
		u, parts := uploadWithParts(t, s, t0, "abc")
		_, f := complete(t, s, u.ID, parts, t0)
		_, err := s.Cancel(ctx, alice, u.ID, t0+1)
		wantStateError(t, err, u.ID, store.StatusCompleted)
		if got := readFile(t, s, alice, f.ID); got != "abc" {
			t.Errorf("after a refused cancel, file content = %q, want %q", got, "abc")
		}
	})
	t.Run("expired", func(t *testing.T) {
		u, _ := uploadWithParts(t, s, t0, "abc")
		_, err := s.Cancel(ctx, alice, u.ID, u.ExpiresAt)
		wantStateError(t, err, u.ID, store.StatusExpired)
		if got := getUpload(t, s, u.ID, t0); got.Status != store.StatusPending {
			t.Errorf("stored status after a refused cancel = %s, want pending (expiry is not stored)", got.Status)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		_, err := s.Cancel(ctx, alice, newUploadID(), t0)
		wantErrorIs(t, err, store.ErrNotFound)
	})
}

// testCancelCompleteRace: cancels and completes of one upload, all at once; exactly one call wins,
// every other one is told the upload's final status, and the final state is the winner's.
func testCancelCompleteRace(t *testing.T, s store.Store) {
	const rounds, callers = 12, 8
	ctx := context.Background()
	for round := range rounds {
		u, parts := uploadWithParts(t, s, t0, "race ", "content")
		start := make(chan struct{})
		type result struct {
			cancel bool
			up     store.Upload
			file   store.File
			err    error
		}
		results := make([]result, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				<-start
				r := result{cancel: (i+round)%2 == 0}
				if r.cancel {
					r.up, r.err = s.Cancel(ctx, alice, u.ID, t0)
				} else {
					md5 := ""
					if i%4 == 1 {
						md5 = md5Hex("race content")
					}
					r.up, r.file, r.err = s.Complete(ctx, alice, u.ID, parts, md5, newFileID(), store.At(t0))
				}
				results[i] = r
			})
		}
		close(start)
		wg.Wait()

		var winners []result
		for _, r := range results {
			if r.err == nil {
				winners = append(winners, r)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %d calls won, want exactly 1: %+v", round, len(winners), results)
		}
		w := winners[0]
		final := getUpload(t, s, u.ID, t0)
		if final != w.up {
			t.Fatalf("round %d: stored upload %+v, winner returned %+v", round, final, w.up)
		}
		for _, r := range results {
			if r.err == nil {
				continue
			}
			var se *store.StateError
			if !errors.As(r.err, &se) || se.Status != final.Status {
				t.Fatalf("round %d: losing call (cancel=%v) got %v, want a StateError with status %s", round, r.cancel, r.err, final.Status)
			}
		}
		if w.cancel {
			if final.Status != store.StatusCancelled || final.FileID != "" {
				t.Fatalf("round %d: cancel won but the upload is %+v", round, final)
			}
		} else if got := readFile(t, s, alice, w.file.ID); got != "race content" {
			t.Fatalf("round %d: complete won but the file holds %q", round, got)
		}
	}
}
