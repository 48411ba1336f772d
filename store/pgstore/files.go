package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/uploadkit/uploads/store"
)

// GetFile returns a file of owner that has not expired at now, or store.ErrNotFound.
func (s *Store) GetFile(ctx context.Context, owner, fileID string, now int64) (store.File, error) {
	var f store.File
	err := s.db.QueryRow(ctx, `SELECT id, owner, upload_id, filename, purpose, bytes, created_at, expires_at
		FROM files WHERE id = $1 AND owner = $2 AND (expires_at IS NULL OR expires_at > $3)`, fileID, owner, now).Scan(
		&f.ID, &f.Owner, &f.UploadID, &f.Filename, &f.Purpose, &f.Bytes, &f.CreatedAt, &f.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.File{}, fmt.Errorf("get file %s: %w", fileID, store.ErrNotFound)
	}
	if err != nil {
		return store.File{}, fmt.Errorf("get file %s: %w", fileID, err)
	}
	return f, nil
}

// OpenFile returns a file of owner that has not expired at now, and its content: its parts'
// objects, streamed one after the other. Each object is requested only when the reader reaches it.
func (s *Store) OpenFile(ctx context.Context, owner, fileID string, now int64) (store.File, io.ReadCloser, error) {
	f, err := s.GetFile(ctx, owner, fileID, now)
	if err != nil {
		return store.File{}, nil, fmt.Errorf("open file: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT p.id, p.size, p.object_key FROM file_parts fp
		JOIN parts p ON p.id = fp.part_id WHERE fp.file_id = $1 ORDER BY fp.seq`, fileID)
	if err != nil {
		return store.File{}, nil, fmt.Errorf("open file %s: %w", fileID, err)
	}
	parts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[storedPart])
	if err != nil {
		return store.File{}, nil, fmt.Errorf("open file %s: %w", fileID, err)
	}
	var total int64
	for _, p := range parts {
		total += p.Size
	}
	if total != f.Bytes {
		return store.File{}, nil, fmt.Errorf("open file %s: its parts hold %d bytes, not %d", fileID, total, f.Bytes)
	}
	return f, s.newPartsReader(ctx, parts), nil
}

// partsReader reads the objects of parts one after the other, checking that each holds the size
// its row records.
type partsReader struct {
	ctx   context.Context
	s     *Store
	parts []storedPart
	cur   io.ReadCloser // the object being read, or nil
	n     int64         // bytes read from cur
}

func (s *Store) newPartsReader(ctx context.Context, parts []storedPart) *partsReader {
	return &partsReader{ctx: ctx, s: s, parts: parts}
}

func (r *partsReader) Read(p []byte) (int, error) {
	for len(r.parts) > 0 {
		part := r.parts[0]
		if r.cur == nil {
			obj, err := r.s.s3.GetObject(r.ctx, r.s.bucket, part.Key, minio.GetObjectOptions{})
			if err != nil {
				return 0, fmt.Errorf("read part %s: %w", part.ID, err)
			}
			r.cur, r.n = obj, 0
		}
		n, err := r.cur.Read(p)
		r.n += int64(n)
		if r.n > part.Size {
			return 0, fmt.Errorf("read part %s: the object holds more than %d bytes", part.ID, part.Size)
		}
		if err == io.EOF {
			r.cur.Close()
			r.cur = nil
			r.parts = r.parts[1:]
			if r.n != part.Size {
				return n, fmt.Errorf("read part %s: the object holds %d bytes, not %d", part.ID, r.n, part.Size)
			}
			err = nil
		}
		if err != nil {
			return n, fmt.Errorf("read part %s: %w", part.ID, err)
		}
		if n > 0 {
			return n, nil
		}
	}
	return 0, io.EOF
}

// Close closes the object being read, if any.
func (r *partsReader) Close() error {
	r.parts = nil
	if r.cur != nil {
		err := r.cur.Close()
		r.cur = nil
		return err
	}
	return nil
}
