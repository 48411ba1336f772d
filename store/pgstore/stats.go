package pgstore

import (
	"context"
	"fmt"

	"github.com/uploadkit/uploads/store"
)

var _ store.StatsReporter = (*Store)(nil)

// Stats counts uploads by status, the bytes of pending uploads' parts and the unexpired Files, in
// three aggregate queries.
func (s *Store) Stats(ctx context.Context, now int64) (store.Stats, error) {
	var pending, expired, completed, cancelled int64
	err := s.db.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE status = 'pending' AND expires_at > $1),
			count(*) FILTER (WHERE status = 'pending' AND expires_at <= $1),
			count(*) FILTER (WHERE status = 'completed'),
			count(*) FILTER (WHERE status = 'cancelled')
		FROM uploads`, now).Scan(&pending, &expired, &completed, &cancelled)
	if err != nil {
		return store.Stats{}, fmt.Errorf("stats: uploads: %w", err)
	}
	st := store.Stats{Uploads: map[store.Status]int64{
		store.StatusPending: pending, store.StatusExpired: expired,
		store.StatusCompleted: completed, store.StatusCancelled: cancelled,
	}}
	err = s.db.QueryRow(ctx, `SELECT COALESCE(SUM(p.size), 0)::bigint FROM parts p JOIN uploads u ON u.id = p.upload_id
		WHERE u.status = 'pending' AND u.expires_at > $1`, now).Scan(&st.PendingPartBytes)
	if err != nil {
		return store.Stats{}, fmt.Errorf("stats: pending parts: %w", err)
	}
	err = s.db.QueryRow(ctx, `SELECT count(*), COALESCE(SUM(bytes), 0)::bigint FROM files
		WHERE deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $1)`, now).Scan(&st.Files, &st.FileBytes)
	if err != nil {
		return store.Stats{}, fmt.Errorf("stats: files: %w", err)
	}
	return st, nil
}
