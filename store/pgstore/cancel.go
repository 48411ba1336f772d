package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// Cancel turns a pending, unexpired upload into a cancelled one and then deletes its parts'
// objects. The check and the change are one conditional UPDATE, which holds the upload's row lock
// from the moment it finds the row until it commits: one statement, one round trip, and a cancel
// and a complete racing on two replicas still see exactly one of them win (the loser's statement
// waits for the lock, then finds the row changed). When the UPDATE changes nothing, the upload is
// read to say why.
func (s *Store) Cancel(ctx context.Context, owner, uploadID string, now int64) (store.Upload, error) {
	var u record.Upload
	err := s.db.QueryRow(ctx, `UPDATE uploads SET status = $3, bytes_state = $4
		WHERE id = $1 AND owner = $2 AND status = 'pending' AND expires_at > $5 AND bytes_state = $6
		RETURNING `+record.UploadColumns,
		uploadID, owner, string(store.StatusCancelled), record.BytesReleasing, now, record.BytesLive).Scan(u.ScanTargets()...)
	if errors.Is(err, pgx.ErrNoRows) {
		cur, lerr := loadUpload(ctx, s.db, owner, uploadID, noLock)
		if lerr != nil {
			return store.Upload{}, fmt.Errorf("cancel upload: %w", lerr)
		}
		if serr := cur.StateError("cancel", now); serr != nil {
			return store.Upload{}, serr
		}
		return store.Upload{}, fmt.Errorf("cancel upload %s: the upload changed while it was cancelled; try again", uploadID)
	}
	if err != nil {
		return store.Upload{}, fmt.Errorf("cancel upload %s: %w", uploadID, err)
	}
	s.releaseAfter(ctx, uploadID)
	return u.Upload, nil
}
