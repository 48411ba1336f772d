package pgstore

import (
	"context"
	"fmt"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// Cancel turns a pending, unexpired upload into a cancelled one and then deletes its parts'
// objects. The check and the change happen under a lock on the upload's row, so a cancel and a
// complete racing on two replicas see exactly one of them win.
func (s *Store) Cancel(ctx context.Context, owner, uploadID string, now int64) (store.Upload, error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return store.Upload{}, fmt.Errorf("cancel upload %s: %w", uploadID, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	u, err := loadUpload(ctx, tx, owner, uploadID, updateLock)
	if err != nil {
		return store.Upload{}, fmt.Errorf("cancel upload: %w", err)
	}
	if err := u.StateError("cancel", now); err != nil {
		return store.Upload{}, err
	}
	if _, err := tx.Exec(ctx, `UPDATE uploads SET status = $2, bytes_state = $3 WHERE id = $1`,
		uploadID, string(store.StatusCancelled), record.BytesReleasing); err != nil {
		return store.Upload{}, fmt.Errorf("cancel upload %s: %w", uploadID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return store.Upload{}, fmt.Errorf("cancel upload %s: %w", uploadID, err)
	}
	s.releaseAfter(ctx, uploadID)
	u.Status = store.StatusCancelled
	return u.Upload, nil
}
