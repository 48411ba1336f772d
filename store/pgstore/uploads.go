package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// querier is what reading rows needs: the pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Row locks loadUpload can take.
const (
	noLock     = ""
	shareLock  = " FOR SHARE"  // adding parts: many at once, but not while the state changes
	updateLock = " FOR UPDATE" // changing the state: cancel, complete
)

// loadUpload reads an upload of owner, or returns store.ErrNotFound. In a transaction, lock
// holds the row until it ends.
func loadUpload(ctx context.Context, q querier, owner, uploadID, lock string) (record.Upload, error) {
	var u record.Upload
	err := q.QueryRow(ctx, `SELECT `+record.UploadColumns+` FROM uploads WHERE id = $1 AND owner = $2`+lock,
		uploadID, owner).Scan(u.ScanTargets()...)
	if errors.Is(err, pgx.ErrNoRows) {
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
	_, err = s.db.Exec(ctx, `INSERT INTO uploads (id, owner, filename, purpose, mime_type, bytes,
		created_at, expires_at, file_expires_after, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		u.ID, u.Owner, u.Filename, u.Purpose, u.MIMEType, u.Bytes, u.CreatedAt, u.ExpiresAt,
		u.FileExpiresAfter, string(u.Status))
	if err != nil {
		return fmt.Errorf("create upload %s: %w", u.ID, noSpace(err))
	}
	return nil
}

// GetUpload returns an upload of owner with its status at now, or store.ErrNotFound.
func (s *Store) GetUpload(ctx context.Context, owner, uploadID string, now int64) (store.Upload, error) {
	u, err := loadUpload(ctx, s.db, owner, uploadID, noLock)
	if err != nil {
		return store.Upload{}, fmt.Errorf("get upload: %w", err)
	}
	return u.At(now), nil
}
