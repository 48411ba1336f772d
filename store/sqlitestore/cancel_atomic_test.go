package sqlitestore

import (
	"context"
	"errors"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// TestCancelIsOneTransaction makes each statement of Cancel fail in turn, with a trigger that
// aborts it: whichever fails, nothing of the cancel may stay. The upload is still pending, its
// parts still recorded, and it completes with all of them once the fault is gone. A statement
// run outside the cancel's transaction would leave half a cancel behind.
func TestCancelIsOneTransaction(t *testing.T) {
	faults := []struct {
		name, trigger string
	}{
		{"the parts' delete fails", `CREATE TRIGGER fault BEFORE DELETE ON parts BEGIN SELECT RAISE(ABORT, 'injected fault'); END`},
		{"the status update fails", `CREATE TRIGGER fault BEFORE UPDATE ON uploads BEGIN SELECT RAISE(ABORT, 'injected fault'); END`},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTemp(t, t.TempDir())
			u := mustCreate(t, s, 5)
			a, b := mustAddPart(t, s, u.ID, "ab"), mustAddPart(t, s, u.ID, "cde")
			if _, err := s.write.ExecContext(ctx, f.trigger); err != nil {
				t.Fatalf("create trigger: %v", err)
			}

			_, err := s.Cancel(ctx, owner, u.ID, t0)
			if err == nil {
				t.Fatalf("Cancel succeeded although a statement of it failed")
			}
			var se *store.StateError
			if errors.As(err, &se) {
				t.Fatalf("Cancel: %v, want the injected fault, not a state", err)
			}
			if _, err := s.write.ExecContext(ctx, `DROP TRIGGER fault`); err != nil {
				t.Fatalf("drop trigger: %v", err)
			}

			got, err := s.GetUpload(ctx, owner, u.ID, t0)
			if err != nil || got.Status != store.StatusPending {
				t.Fatalf("after the failed cancel the upload is %+v (%v), want it pending", got, err)
			}
			var parts int
			if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM parts WHERE upload_id = ?`, u.ID).Scan(&parts); err != nil || parts != 2 {
				t.Fatalf("after the failed cancel %d parts are recorded (%v), want 2", parts, err)
			}
			file := mustComplete(t, s, u.ID, a.ID, b.ID)
			if content := mustRead(t, s, file.ID); content != "abcde" {
				t.Errorf("file content = %q, want %q", content, "abcde")
			}
		})
	}
}
