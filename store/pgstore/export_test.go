package pgstore

import "context"

// SessionSetting is the value of a run-time setting on one of the store's connections.
func SessionSetting(ctx context.Context, s *Store, name string) (string, error) {
	var v string
	err := s.db.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}
