package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// fileColumns are the columns of a files row that make a store.File, in the order of its fields.
const fileColumns = `id, owner, upload_id, filename, purpose, bytes, created_at, expires_at`

// liveFile is the condition on files that exist at the time given by parameter $3: neither
// deleted nor expired.
const liveFile = `deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $3)`

// GetFile returns a file of owner that exists at now (neither deleted nor expired), or
// store.ErrNotFound.
func (s *Store) GetFile(ctx context.Context, owner, fileID string, now int64) (store.File, error) {
	return getFile(ctx, s.db, owner, fileID, now, noLock)
}

// getFile is GetFile in q; in a transaction, lock holds the file's row until it ends.
func getFile(ctx context.Context, q querier, owner, fileID string, now int64, lock string) (store.File, error) {
	rows, err := q.Query(ctx, `SELECT `+fileColumns+` FROM files WHERE id = $1 AND owner = $2 AND `+liveFile+lock,
		fileID, owner, now)
	if err != nil {
		return store.File{}, fmt.Errorf("get file %s: %w", fileID, err)
	}
	f, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[store.File])
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
		// A delete that committed meanwhile took the parts: the file is gone, not broken.
		if _, err := s.GetFile(ctx, owner, fileID, now); errors.Is(err, store.ErrNotFound) {
			return store.File{}, nil, fmt.Errorf("open file: %w", err)
		}
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

// ListFiles returns a page of the files of owner that exist at now, in one query: the cursor's
// place is read in it (a file that is deleted or expired still has one), and one file more than
// the page holds tells whether more follow.
func (s *Store) ListFiles(ctx context.Context, owner string, q store.FileQuery, now int64) ([]store.File, bool, error) {
	if q.Limit < 1 {
		return nil, false, fmt.Errorf("list files: limit %d is below 1", q.Limit)
	}
	order, cmp := "ASC", ">"
	if q.Desc {
		order, cmp = "DESC", "<"
	}
	query := `SELECT ` + fileColumns + ` FROM files WHERE owner = $1 AND ` + strings.ReplaceAll(liveFile, "$3", "$2")
	args := []any{owner, now}
	if q.Purpose != "" {
		args = append(args, q.Purpose)
		query += fmt.Sprintf(` AND purpose = $%d`, len(args))
	}
	if q.After != "" {
		args = append(args, q.After)
		query += fmt.Sprintf(` AND (created_at, id) %s (SELECT created_at, id FROM files WHERE id = $%d AND owner = $1)`, cmp, len(args))
	}
	args = append(args, q.Limit+1)
	query += fmt.Sprintf(` ORDER BY created_at %s, id %s LIMIT $%d`, order, order, len(args))
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list files: %w", err)
	}
	files, err := pgx.CollectRows(rows, pgx.RowToStructByPos[store.File])
	if err != nil {
		return nil, false, fmt.Errorf("list files: %w", err)
	}
	if len(files) == 0 && q.After != "" {
		// An empty page: the end of the listing, or a cursor that names nothing.
		var known bool
		if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE id = $1 AND owner = $2)`,
			q.After, owner).Scan(&known); err != nil {
			return nil, false, fmt.Errorf("list files: %w", err)
		}
		if !known {
			return nil, false, fmt.Errorf("list files after %s: %w", q.After, store.ErrUnknownCursor)
		}
	}
	more := len(files) > q.Limit
	if more {
		files = files[:q.Limit]
	}
	return files, more, nil
}

// DeleteFile deletes a file of owner that exists at now: under a lock on its row, the file
// becomes a tombstone, its list of parts goes and its upload is marked releasing, in one
// transaction; then the parts' objects and rows are released, as after a cancel. If that fails or
// the process dies, the sweeper finds the upload still releasing and finishes.
func (s *Store) DeleteFile(ctx context.Context, owner, fileID string, now int64) (store.File, error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return store.File{}, fmt.Errorf("delete file %s: %w", fileID, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	f, err := getFile(ctx, tx, owner, fileID, now, updateLock)
	if err != nil {
		return store.File{}, fmt.Errorf("delete: %w", err)
	}
	if err := dropFiles(ctx, tx, []store.File{f}, now); err != nil {
		return store.File{}, fmt.Errorf("delete file %s: %w", fileID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return store.File{}, fmt.Errorf("delete file %s: %w", fileID, err)
	}
	s.releaseAfter(ctx, f.UploadID)
	return f, nil
}

// dropFiles makes files tombstones deleted at deletedAt, forgets which parts they are made of
// (which lets release take the parts) and marks their uploads releasing, in transaction tx.
func dropFiles(ctx context.Context, tx pgx.Tx, files []store.File, deletedAt int64) error {
	ids := make([]string, len(files))
	uploadIDs := make([]string, len(files))
	for i, f := range files {
		ids[i], uploadIDs[i] = f.ID, f.UploadID
	}
	if _, err := tx.Exec(ctx, `UPDATE files SET deleted_at = $2 WHERE id = ANY($1) AND deleted_at IS NULL`, ids, deletedAt); err != nil {
		return fmt.Errorf("mark files deleted: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM file_parts WHERE file_id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("forget the parts of files: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE uploads SET bytes_state = $2 WHERE id = ANY($1)`, uploadIDs, record.BytesReleasing); err != nil {
		return fmt.Errorf("release the parts of files: %w", err)
	}
	return nil
}
