package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
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
		// A delete that committed meanwhile took the parts: the file is gone, not broken.
		if _, err := loadFile(ctx, s.read, owner, fileID, now); errors.Is(err, store.ErrNotFound) {
			return store.File{}, nil, fmt.Errorf("open file: %w", err)
		}
		return store.File{}, nil, fmt.Errorf("open file %s: its parts hold %d bytes, not %d", fileID, total, f.Bytes)
	}
	return f, newConcatReader(segs), nil
}

// fileColumns are the columns scanFile reads, in its order.
const fileColumns = `id, owner, upload_id, filename, purpose, bytes, created_at, expires_at`

// liveFile is the condition on files that exist at the time given by the named parameter :now:
// neither deleted nor expired.
const liveFile = `deleted_at IS NULL AND (expires_at IS NULL OR expires_at > :now)`

// scanFile reads a row of fileColumns.
func scanFile(row interface{ Scan(...any) error }) (store.File, error) {
	var f store.File
	var expiresAt sql.NullInt64
	if err := row.Scan(&f.ID, &f.Owner, &f.UploadID, &f.Filename, &f.Purpose, &f.Bytes, &f.CreatedAt, &expiresAt); err != nil {
		return store.File{}, err
	}
	if expiresAt.Valid {
		v := expiresAt.Int64
		f.ExpiresAt = &v
	}
	return f, nil
}

// loadFile reads a file of owner that exists at now, or returns store.ErrNotFound.
func loadFile(ctx context.Context, q queryer, owner, fileID string, now int64) (store.File, error) {
	f, err := scanFile(q.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files
		WHERE id = :id AND owner = :owner AND `+liveFile,
		sql.Named("id", fileID), sql.Named("owner", owner), sql.Named("now", now)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.File{}, fmt.Errorf("file %s: %w", fileID, store.ErrNotFound)
	}
	if err != nil {
		return store.File{}, fmt.Errorf("read file %s: %w", fileID, err)
	}
	return f, nil
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
	query := `SELECT ` + fileColumns + ` FROM files WHERE owner = :owner AND ` + liveFile
	if q.Purpose != "" {
		query += ` AND purpose = :purpose`
	}
	if q.After != "" {
		query += ` AND (created_at, id) ` + cmp + ` (SELECT created_at, id FROM files WHERE id = :after AND owner = :owner)`
	}
	query += ` ORDER BY created_at ` + order + `, id ` + order + ` LIMIT :limit`
	rows, err := s.read.QueryContext(ctx, query, sql.Named("owner", owner), sql.Named("now", now),
		sql.Named("purpose", q.Purpose), sql.Named("after", q.After), sql.Named("limit", q.Limit+1))
	if err != nil {
		return nil, false, fmt.Errorf("list files: %w", err)
	}
	defer rows.Close()
	var files []store.File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			return nil, false, fmt.Errorf("list files: %w", err)
		}
		files = append(files, f)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("list files: %w", err)
	}
	if len(files) == 0 && q.After != "" {
		// An empty page: the end of the listing, or a cursor that names nothing.
		var n int
		if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM files WHERE id = ? AND owner = ?`,
			q.After, owner).Scan(&n); err != nil {
			return nil, false, fmt.Errorf("list files: %w", err)
		}
		if n == 0 {
			return nil, false, fmt.Errorf("list files after %s: %w", q.After, store.ErrUnknownCursor)
		}
	}
	more := len(files) > q.Limit
	if more {
		files = files[:q.Limit]
	}
	return files, more, nil
}

// DeleteFile deletes a file of owner that exists at now in one transaction, whose synced commit is
// the answer: the file becomes a tombstone, its list of parts and its parts' rows go, and its
// upload's bytes are marked releasing. The part files are removed after the answer, by the
// background remover (remover.go), as a cancel's are: the request never waits for them. If the
// process stops first, the upload is still marked releasing: Open removes the files (no part row
// owns them) and the next sweep, or the remover's next run, marks the upload released.
//
// The transaction runs four statements prepared once at Open (deleteFileSQL, then releaseFile's
// three), and reads nothing else: the tombstone's UPDATE ... RETURNING finds the file only if it
// is owner's and exists at now, and finding none is store.ErrNotFound, whatever the reason.
//
// On a full disk the transaction draws on the space reserve (see space.go): deleting a file is
// how space is given back.
func (s *Store) DeleteFile(ctx context.Context, owner, fileID string, now int64) (store.File, error) {
	var f store.File
	err := s.freeing(func() error {
		var err error
		f, err = s.deleteFile(ctx, owner, fileID, now)
		return err
	})
	if err != nil {
		return store.File{}, err
	}
	s.kickRemover()
	return f, nil
}

// deleteFile is the transaction of DeleteFile.
func (s *Store) deleteFile(ctx context.Context, owner, fileID string, now int64) (store.File, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return store.File{}, fmt.Errorf("delete file %s: %w", fileID, noSpace(err))
	}
	defer tx.Rollback()
	f, err := scanFile(tx.StmtContext(ctx, s.stmts.deleteFile).QueryRowContext(ctx,
		sql.Named("id", fileID), sql.Named("owner", owner), sql.Named("now", now)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.File{}, fmt.Errorf("delete: file %s: %w", fileID, store.ErrNotFound)
	}
	if err != nil {
		return store.File{}, fmt.Errorf("delete file %s: %w", fileID, err)
	}
	if err := s.releaseFile(ctx, tx, f); err != nil {
		return store.File{}, fmt.Errorf("delete file %s: %w", fileID, err)
	}
	if err := tx.Commit(); err != nil {
		return store.File{}, fmt.Errorf("delete file %s: %w", fileID, noSpace(err))
	}
	return f, nil
}

// deleteFileSQL makes the file :id of :owner that exists at :now a tombstone deleted at :now, and
// returns it as fileColumns.
const deleteFileSQL = `UPDATE files SET deleted_at = :now WHERE id = :id AND owner = :owner AND ` + liveFile +
	` RETURNING ` + fileColumns

// dropFiles makes files tombstones deleted at deletedAt, deletes their parts' rows and marks their
// uploads' bytes releasing, in transaction tx: what DeleteFile does, for the files the sweep
// found expired.
func (s *Store) dropFiles(ctx context.Context, tx *sql.Tx, files []store.File, deletedAt int64) error {
	for _, f := range files {
		if _, err := tx.ExecContext(ctx, `UPDATE files SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL`, deletedAt, f.ID); err != nil {
			return err
		}
		if err := s.releaseFile(ctx, tx, f); err != nil {
			return err
		}
	}
	return nil
}

// releaseFile deletes the rows of a deleted file's parts (its list of parts first, which the
// parts' foreign key requires) and marks its upload's bytes releasing, in transaction tx, with
// the statements prepared at Open.
func (s *Store) releaseFile(ctx context.Context, tx *sql.Tx, f store.File) error {
	if _, err := tx.StmtContext(ctx, s.stmts.deleteFileParts).ExecContext(ctx, f.ID); err != nil {
		return fmt.Errorf("forget the parts of file %s: %w", f.ID, err)
	}
	if _, err := tx.StmtContext(ctx, s.stmts.deleteParts).ExecContext(ctx, f.UploadID); err != nil {
		return fmt.Errorf("forget the parts of file %s: %w", f.ID, err)
	}
	if _, err := tx.StmtContext(ctx, s.stmts.markReleasing).ExecContext(ctx, record.BytesReleasing, f.UploadID); err != nil {
		return fmt.Errorf("release the parts of file %s: %w", f.ID, err)
	}
	return nil
}
