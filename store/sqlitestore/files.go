package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"github.com/uploadkit/uploads/store"
)

// GetFile returns a file of owner that has not expired at now, or store.ErrNotFound.
func (s *Store) GetFile(ctx context.Context, owner, fileID string, now int64) (store.File, error) {
	f, err := loadFile(ctx, s.read, owner, fileID, now)
	if err != nil {
		return store.File{}, fmt.Errorf("get file: %w", err)
	}
	return f, nil
}

// OpenFile returns a file of owner that has not expired at now and its content, streamed from its
// parts in order, one part file open at a time.
func (s *Store) OpenFile(ctx context.Context, owner, fileID string, now int64) (store.File, io.ReadCloser, error) {
	f, err := loadFile(ctx, s.read, owner, fileID, now)
	if err != nil {
		return store.File{}, nil, fmt.Errorf("open file: %w", err)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT p.upload_id, p.id, p.size
		FROM file_parts fp JOIN parts p ON p.id = fp.part_id
		WHERE fp.file_id = ? ORDER BY fp.seq`, fileID)
	if err != nil {
		return store.File{}, nil, fmt.Errorf("open file %s: %w", fileID, err)
	}
	defer rows.Close()
	var segs []segment
	var total int64
	for rows.Next() {
		var uploadID, partID string
		var size int64
		if err := rows.Scan(&uploadID, &partID, &size); err != nil {
			return store.File{}, nil, fmt.Errorf("open file %s: %w", fileID, err)
		}
		segs = append(segs, segment{path: s.partPath(uploadID, partID), size: size})
		total += size
	}
	if err := rows.Err(); err != nil {
		return store.File{}, nil, fmt.Errorf("open file %s: %w", fileID, err)
	}
	if total != f.Bytes {
		return store.File{}, nil, fmt.Errorf("open file %s: its parts hold %d bytes, not %d", fileID, total, f.Bytes)
	}
	return f, newConcatReader(segs), nil
}

// loadFile reads a file of owner that has not expired at now, or returns store.ErrNotFound.
func loadFile(ctx context.Context, q queryer, owner, fileID string, now int64) (store.File, error) {
	var f store.File
	var expiresAt sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT id, owner, upload_id, filename, purpose, bytes, created_at, expires_at
		FROM files WHERE id = ? AND owner = ? AND (expires_at IS NULL OR expires_at > ?)`, fileID, owner, now).Scan(
		&f.ID, &f.Owner, &f.UploadID, &f.Filename, &f.Purpose, &f.Bytes, &f.CreatedAt, &expiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return store.File{}, fmt.Errorf("file %s: %w", fileID, store.ErrNotFound)
	}
	if err != nil {
		return store.File{}, fmt.Errorf("read file %s: %w", fileID, err)
	}
	if expiresAt.Valid {
		v := expiresAt.Int64
		f.ExpiresAt = &v
	}
	return f, nil
}
