package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/uploadkit/uploads/store/internal/record"
)

// release deletes the objects of the parts of an upload that no file refers to, then their rows,
// and marks the upload's bytes released unless parts no file refers to remain (a file deleted
// meanwhile: the upload stays releasing for the next release). The upload must be in state record.BytesReleasing, in
// which no part can be added, so the set of parts cannot grow meanwhile. It is idempotent: replicas
// releasing the same upload at once, or a release retried after a crash, do no harm. It returns
// the recorded size of the parts whose rows it deleted: a row is deleted by one transaction only,
// so two releases never both count a part.
func (s *Store) release(ctx context.Context, uploadID string) (int64, error) {
	rows, err := s.db.Query(ctx, `SELECT object_key FROM parts p WHERE upload_id = $1
		AND NOT EXISTS (SELECT 1 FROM file_parts fp WHERE fp.part_id = p.id)`, uploadID)
	if err != nil {
		return 0, fmt.Errorf("release parts of upload %s: %w", uploadID, err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("release parts of upload %s: %w", uploadID, err)
	}
	return s.releaseKeys(ctx, uploadID, keys)
}

// releaseKeys is release once it has listed the objects of the upload's parts that no file refers
// to: keys. It deletes them, then their rows, and marks the upload released unless parts no file
// refers to remain.
func (s *Store) releaseKeys(ctx context.Context, uploadID string, keys []string) (int64, error) {
	if err := s.removeObjects(ctx, keys); err != nil {
		return 0, fmt.Errorf("release parts of upload %s: %w", uploadID, err)
	}

	tx, err := s.db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("release parts of upload %s: %w", uploadID, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// The upload's row lock first: a file deletion that committed meanwhile (which makes the
	// file's parts releasable too) is seen whole by the statements below, and one that has yet
	// to commit marks the upload releasing again once this transaction ends.
	if _, err := tx.Exec(ctx, `SELECT 1 FROM uploads WHERE id = $1 FOR UPDATE`, uploadID); err != nil {
		return 0, fmt.Errorf("release parts of upload %s: %w", uploadID, err)
	}
	var freed int64
	if err := tx.QueryRow(ctx, `WITH gone AS (DELETE FROM parts WHERE object_key = ANY($1) RETURNING size)
		SELECT COALESCE(sum(size), 0)::bigint FROM gone`, keys).Scan(&freed); err != nil {
		return 0, fmt.Errorf("release parts of upload %s: forget parts: %w", uploadID, err)
	}
	// Released only if no part is left that no file refers to.
	if _, err := tx.Exec(ctx, `UPDATE uploads SET bytes_state = $2 WHERE id = $1 AND bytes_state = $3
		AND NOT EXISTS (SELECT 1 FROM parts p WHERE p.upload_id = $1
			AND NOT EXISTS (SELECT 1 FROM file_parts fp WHERE fp.part_id = p.id))`,
		uploadID, record.BytesReleased, record.BytesReleasing); err != nil {
		return 0, fmt.Errorf("release parts of upload %s: %w", uploadID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("release parts of upload %s: %w", uploadID, err)
	}
	return freed, nil
}

// releaseAfter releases an upload's bytes once a request changed its state, even if the request's
// context is done. A failure is left to the sweeper, which finds the upload still releasing.
func (s *Store) releaseAfter(ctx context.Context, uploadID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_, _ = s.release(ctx, uploadID)
}
