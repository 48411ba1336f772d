package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/uploadkit/uploads/store"
)

// uploadColumns are the columns scanUpload reads, in its order.
const uploadColumns = `id, owner, filename, purpose, mime_type, bytes, created_at, expires_at,
	file_expires_after, status, COALESCE(file_id, ''), bytes_state`

// bytesLive, bytesReleasing and bytesReleased are the values of uploads.bytes_state.
const (
	bytesLive      = 0
	bytesReleasing = 1
	bytesReleased  = 2
)

// storedUpload is an upload row with what the store keeps beside the public fields.
type storedUpload struct {
	store.Upload
	bytesState int16
}

// statusAt is the status the upload has at now. An upload whose bytes were released while it was
// pending (a sweeper found it expired on its own clock) reads as expired whatever now says.
func (u storedUpload) statusAt(now int64) store.Status {
	st := u.StatusAt(now)
	if st == store.StatusPending && u.bytesState != bytesLive {
		return store.StatusExpired
	}
	return st
}

// stateError is the error for op on an upload that is not pending at now, or nil if it is.
func (u storedUpload) stateError(op string, now int64) error {
	if st := u.statusAt(now); st != store.StatusPending {
		return &store.StateError{UploadID: u.ID, Status: st, Op: op}
	}
	return nil
}

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
func loadUpload(ctx context.Context, q querier, owner, uploadID, lock string) (storedUpload, error) {
	var u storedUpload
	err := q.QueryRow(ctx, `SELECT `+uploadColumns+` FROM uploads WHERE id = $1 AND owner = $2`+lock,
		uploadID, owner).Scan(&u.ID, &u.Owner, &u.Filename, &u.Purpose, &u.MIMEType, &u.Bytes,
		&u.CreatedAt, &u.ExpiresAt, &u.FileExpiresAfter, &u.Status, &u.FileID, &u.bytesState)
	if errors.Is(err, pgx.ErrNoRows) {
		return storedUpload{}, fmt.Errorf("upload %s: %w", uploadID, store.ErrNotFound)
	}
	if err != nil {
		return storedUpload{}, fmt.Errorf("read upload %s: %w", uploadID, err)
	}
	return u, nil
}

// CreateUpload records a new pending upload. An empty u.Status is taken as pending; any other
// status is refused.
func (s *Store) CreateUpload(ctx context.Context, u store.Upload) error {
	if u.Status == "" {
		u.Status = store.StatusPending
	}
	if u.Status != store.StatusPending {
		return fmt.Errorf("create upload %s: a new upload must be pending, not %q", u.ID, u.Status)
	}
	if u.FileID != "" {
		return fmt.Errorf("create upload %s: a new upload has no file", u.ID)
	}
	if !safeName(u.ID) {
		return fmt.Errorf("create upload %q: the id may hold only letters, digits, '-' and '_'", u.ID)
	}
	_, err := s.db.Exec(ctx, `INSERT INTO uploads (id, owner, filename, purpose, mime_type, bytes,
		created_at, expires_at, file_expires_after, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		u.ID, u.Owner, u.Filename, u.Purpose, u.MIMEType, u.Bytes, u.CreatedAt, u.ExpiresAt,
		u.FileExpiresAfter, string(u.Status))
	if err != nil {
		return fmt.Errorf("create upload %s: %w", u.ID, err)
	}
	return nil
}

// GetUpload returns an upload of owner, or store.ErrNotFound.
func (s *Store) GetUpload(ctx context.Context, owner, uploadID string) (store.Upload, error) {
	u, err := loadUpload(ctx, s.db, owner, uploadID, noLock)
	if err != nil {
		return store.Upload{}, fmt.Errorf("get upload: %w", err)
	}
	return u.Upload, nil
}

// safeName reports whether id can be part of an object key as it is: non-empty, short, and made
// only of ASCII letters, digits, '-' and '_'.
func safeName(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
