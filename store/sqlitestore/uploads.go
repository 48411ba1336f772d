package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// queryer is what reading an upload needs: a pool or a transaction.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// loadUpload reads an upload of owner, or returns store.ErrNotFound.
func loadUpload(ctx context.Context, q queryer, owner, uploadID string) (record.Upload, error) {
	var u record.Upload
	err := q.QueryRowContext(ctx, `SELECT `+record.UploadColumns+` FROM uploads WHERE id = ? AND owner = ?`,
		uploadID, owner).Scan(u.ScanTargets()...)
	if errors.Is(err, sql.ErrNoRows) {
		return record.Upload{}, fmt.Errorf("upload %s: %w", uploadID, store.ErrNotFound)
	}
	if err != nil {
		return record.Upload{}, fmt.Errorf("read upload %s: %w", uploadID, err)
	}
	return u, nil
}

// CreateUpload records a new pending upload. An empty u.Status is taken as pending; any other
// status is refused.
func (s *Store) CreateUpload(ctx context.Context, u store.Upload) error {
	u, err := record.CheckNew(u)
	if err != nil {
		return err
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO uploads (id, owner, filename, purpose, mime_type,
		bytes, created_at, expires_at, file_expires_after, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Owner, u.Filename, u.Purpose, u.MIMEType, u.Bytes, u.CreatedAt, u.ExpiresAt,
		u.FileExpiresAfter, u.Status)
	if err != nil {
		return fmt.Errorf("create upload %s: %w", u.ID, noSpace(err))
	}
	return nil
}

// GetUpload returns an upload of owner with its status at now, or store.ErrNotFound.
func (s *Store) GetUpload(ctx context.Context, owner, uploadID string, now int64) (store.Upload, error) {
	u, err := loadUpload(ctx, s.read, owner, uploadID)
	if err != nil {
		return store.Upload{}, fmt.Errorf("get upload: %w", err)
	}
	return u.At(now), nil
}
