package sqlitestore

import (
	"context"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// TestSweepTakesEveryBatch: one sweep releases every expired upload, however many batches they
// fill, including when a batch is exactly full.
func TestSweepTakesEveryBatch(t *testing.T) {
	for _, n := range []int{sweepBatch, sweepBatch + 1} {
		ctx := context.Background()
		s := openTemp(t, t.TempDir())
		for range n {
			u := store.Upload{ID: randomID("upload_"), Owner: owner, Filename: "f.txt", Purpose: "batch",
				MIMEType: "text/plain", Bytes: 1, CreatedAt: t0, ExpiresAt: t0 + 3600, Status: store.StatusPending}
			if err := s.CreateUpload(ctx, u); err != nil {
				t.Fatalf("CreateUpload: %v", err)
			}
		}
		swept, err := s.SweepExpired(ctx, t0+3600)
		if err != nil || swept != (store.SweepResult{Uploads: n}) {
			t.Errorf("%d expired uploads: SweepExpired = %+v, %v; want all of them", n, swept, err)
		}
		if again, err := s.SweepExpired(ctx, t0+3600); err != nil || again != (store.SweepResult{}) {
			t.Errorf("%d expired uploads: a second SweepExpired = %+v, %v; want nothing", n, again, err)
		}
	}
}
