package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// SessionSetting is the value of a run-time setting on one of the store's connections.
func SessionSetting(ctx context.Context, s *Store, name string) (string, error) {
	var v string
	err := s.db.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}

// StopRemover stops the store's background remover, as if the process stopped: what completions
// queue afterwards stays queued, for the sweeper (or Settle) to release.
func StopRemover(s *Store) { s.stopRemover() }

// ReleaseOnly runs the release of an upload as if it had listed only the parts among partIDs,
// as a release that listed them before a file deletion committed would.
func ReleaseOnly(ctx context.Context, s *Store, uploadID string, partIDs ...string) error {
	rows, err := s.db.Query(ctx, `SELECT object_key FROM parts WHERE upload_id = $1 AND id = ANY($2)`, uploadID, partIDs)
	if err != nil {
		return err
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	_, err = s.releaseKeys(ctx, uploadID, keys)
	return err
}
