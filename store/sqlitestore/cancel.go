package sqlitestore

import (
	"context"
	"fmt"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// Cancel makes a pending, unexpired upload cancelled and deletes the rows of its parts in one
// transaction, then removes the part files. If removing them fails, the upload is left marked as
// releasing and SweepExpired finishes the job. On a full disk the transaction draws on the space
// reserve (see space.go): a cancel is how space is given back.
func (s *Store) Cancel(ctx context.Context, owner, uploadID string, now int64) (store.Upload, error) {
	var u record.Upload
	err := s.freeing(func() error {
		var err error
		u, err = s.markCancelled(ctx, owner, uploadID, now)
		return err
	})
	if err != nil {
		return store.Upload{}, err
	}
	s.releaseBytes(context.WithoutCancel(ctx), uploadID)
	if s.reserveMissing.Load() {
		_ = s.keepReserve() // from the bytes just freed
	}
	cancelled := u.Upload
	cancelled.Status = store.StatusCancelled
	return cancelled, nil
}

// markCancelled is the transaction of Cancel.
func (s *Store) markCancelled(ctx context.Context, owner, uploadID string, now int64) (record.Upload, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return record.Upload{}, fmt.Errorf("cancel upload %s: %w", uploadID, err)
	}
	defer tx.Rollback()
	u, err := loadUpload(ctx, tx, owner, uploadID)
	if err != nil {
		return record.Upload{}, fmt.Errorf("cancel: %w", err)
	}
	if err := u.StateError("cancel", now); err != nil {
		return record.Upload{}, err
	}
	// The transaction holds the write lock since BEGIN IMMEDIATE, so the state just read cannot
	// change; the condition restates it so the update alone would still be correct.
	res, err := tx.ExecContext(ctx, `UPDATE uploads SET status = 'cancelled', bytes_state = ?
		WHERE id = ? AND status = 'pending' AND bytes_state = 0`, record.BytesReleasing, uploadID)
	if err != nil {
		return record.Upload{}, fmt.Errorf("cancel upload %s: %w", uploadID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return record.Upload{}, fmt.Errorf("cancel upload %s: the upload changed under the write lock (rows %d, %v)", uploadID, n, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM parts WHERE upload_id = ?`, uploadID); err != nil {
		return record.Upload{}, fmt.Errorf("cancel upload %s: delete parts: %w", uploadID, err)
	}
	if err := tx.Commit(); err != nil {
		return record.Upload{}, fmt.Errorf("cancel upload %s: %w", uploadID, err)
	}
	return u, nil
}
