package sqlitestore

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// Complete checks the request in the order store.Store documents, reading only, then makes the
// upload completed and records its file in one transaction. The file references the parts listed,
// in order (no byte is copied). The rows of parts uploaded but not listed are deleted in that
// transaction, which lists them in parts_to_remove; their files are removed after the answer, by
// the background remover, as a cancel's are (the request never waits for it). If the process
// stops first, Open removes the files (no part row owns them) and the next sweep forgets the list.
//
// The MD5, when asked for, is computed before the transaction by streaming the parts: recorded
// parts never change, and the transaction completes the upload only if it is still pending, so a
// cancel that wins meanwhile makes this Complete fail with *store.StateError. So does the upload
// expiring meanwhile: the transaction reads the clock again.
func (s *Store) Complete(ctx context.Context, owner, uploadID string, partIDs []string, md5Hex, fileID string, now store.Clock) (store.Upload, store.File, error) {
	const op = "complete"
	u, segs, err := s.checkComplete(ctx, owner, uploadID, partIDs, now())
	if err != nil {
		return store.Upload{}, store.File{}, err
	}
	if md5Hex != "" {
		got, err := md5Of(segs)
		if err != nil {
			// A cancel or a sweep that won meanwhile removes the bytes: say so, not "file missing".
			if u, lerr := loadUpload(context.WithoutCancel(ctx), s.read, owner, uploadID); lerr == nil {
				if serr := u.StateError(op, now()); serr != nil {
					return store.Upload{}, store.File{}, serr
				}
			}
			return store.Upload{}, store.File{}, fmt.Errorf("complete upload %s: md5 of the parts: %w", uploadID, err)
		}
		if !strings.EqualFold(got, md5Hex) {
			return store.Upload{}, store.File{}, &store.ChecksumError{Want: md5Hex, Got: got}
		}
	}

	f, leftOut, err := s.commitComplete(ctx, u, partIDs, fileID, now)
	if err != nil {
		return store.Upload{}, store.File{}, err
	}
	if leftOut {
		s.kickRemover()
	}
	done := u.Upload
	done.Status, done.FileID = store.StatusCompleted, f.ID
	return done, f, nil
}

// checkComplete reads the upload and its parts in one snapshot, so that a cancel committing
// meanwhile is seen whole or not at all, and checks the request against them up to the size.
func (s *Store) checkComplete(ctx context.Context, owner, uploadID string, partIDs []string, now int64) (record.Upload, []segment, error) {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return record.Upload{}, nil, fmt.Errorf("complete upload %s: %w", uploadID, err)
	}
	defer tx.Rollback()
	u, err := loadUpload(ctx, tx, owner, uploadID)
	if err != nil {
		return record.Upload{}, nil, fmt.Errorf("complete: %w", err)
	}
	if err := u.StateError("complete", now); err != nil {
		return record.Upload{}, nil, err
	}
	segs, err := s.checkParts(ctx, tx, u.Upload, partIDs)
	if err != nil {
		return record.Upload{}, nil, err
	}
	return u, segs, nil
}

// checkParts checks partIDs against the upload's recorded parts (non-empty, no duplicate, all of
// this upload, adding up to the declared size) and returns their files in order.
func (s *Store) checkParts(ctx context.Context, q rowQueryer, u store.Upload, partIDs []string) ([]segment, error) {
	if len(partIDs) == 0 {
		return nil, fmt.Errorf("complete upload %s: %w", u.ID, store.ErrNoParts)
	}
	seen := make(map[string]bool, len(partIDs))
	for _, id := range partIDs {
		if seen[id] {
			return nil, &store.PartError{PartID: id, Err: store.ErrDuplicatePart}
		}
		seen[id] = true
	}
	sizes, err := partSizes(ctx, q, u.ID)
	if err != nil {
		return nil, err
	}
	segs := make([]segment, 0, len(partIDs))
	var total int64
	for _, id := range partIDs {
		size, ok := sizes[id]
		if !ok {
			return nil, &store.PartError{PartID: id, Err: store.ErrUnknownPart}
		}
		segs = append(segs, segment{path: s.partPath(u.ID, id), size: size})
		total += size
	}
	if total != u.Bytes {
		return nil, &store.SizeError{Declared: u.Bytes, Got: total}
	}
	return segs, nil
}

// partSizes returns the size of every recorded part of an upload, by part id.
func partSizes(ctx context.Context, q rowQueryer, uploadID string) (map[string]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, size FROM parts WHERE upload_id = ?`, uploadID)
	if err != nil {
		return nil, fmt.Errorf("list parts of upload %s: %w", uploadID, err)
	}
	defer rows.Close()
	sizes := make(map[string]int64)
	for rows.Next() {
		var id string
		var size int64
		if err := rows.Scan(&id, &size); err != nil {
			return nil, fmt.Errorf("list parts of upload %s: %w", uploadID, err)
		}
		sizes[id] = size
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list parts of upload %s: %w", uploadID, err)
	}
	return sizes, nil
}

// md5Of streams the part files in order and returns the hex MD5 of their content.
func md5Of(segs []segment) (string, error) {
	r := newConcatReader(segs)
	defer r.Close()
	h := md5.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// commitComplete completes the upload if it is still pending and unexpired at the time now reads
// once the write lock is held, records its file, fileID, created then, with the listed parts in
// order, and moves the parts not listed from parts to parts_to_remove. It reports whether there
// were any, whose files the remover is then to remove.
func (s *Store) commitComplete(ctx context.Context, ru record.Upload, partIDs []string, fileID string, now store.Clock) (store.File, bool, error) {
	u := ru.Upload
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return store.File{}, false, fmt.Errorf("complete upload %s: %w", u.ID, noSpace(err))
	}
	defer tx.Rollback()
	at := now()
	f := ru.NewFile(fileID, at)
	res, err := tx.ExecContext(ctx, `UPDATE uploads SET status = 'completed', file_id = ?
		WHERE id = ? AND owner = ? AND status = 'pending' AND expires_at > ? AND bytes_state = 0`,
		f.ID, u.ID, u.Owner, at)
	if err != nil {
		return store.File{}, false, fmt.Errorf("complete upload %s: %w", u.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		cur, lerr := loadUpload(ctx, tx, u.Owner, u.ID)
		if lerr != nil {
			return store.File{}, false, fmt.Errorf("complete: %w", lerr)
		}
		if serr := cur.StateError("complete", at); serr != nil {
			return store.File{}, false, serr
		}
		return store.File{}, false, fmt.Errorf("complete upload %s: the upload refused the change (rows %d, %v)", u.ID, n, err)
	}
	var expiresAt any
	if f.ExpiresAt != nil {
		expiresAt = *f.ExpiresAt
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO files (id, owner, upload_id, filename, purpose, bytes, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.Owner, f.UploadID, f.Filename, f.Purpose, f.Bytes, f.CreatedAt, expiresAt); err != nil {
		return store.File{}, false, fmt.Errorf("complete upload %s: record file %s: %w", u.ID, f.ID, err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO file_parts (file_id, seq, part_id)
		SELECT ?, ?, id FROM parts WHERE id = ? AND upload_id = ?`)
	if err != nil {
		return store.File{}, false, fmt.Errorf("complete upload %s: %w", u.ID, err)
	}
	defer stmt.Close()
	for seq, partID := range partIDs {
		res, err := stmt.ExecContext(ctx, f.ID, seq, partID, u.ID)
		if err != nil {
			return store.File{}, false, fmt.Errorf("complete upload %s: record part %s of the file: %w", u.ID, partID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			// Parts leave only with a cancel or a sweep, which the update above rules out.
			return store.File{}, false, &store.PartError{PartID: partID, Err: store.ErrUnknownPart}
		}
	}
	res, err = tx.ExecContext(ctx, `INSERT INTO parts_to_remove (upload_id, part_id)
		SELECT upload_id, id FROM parts WHERE upload_id = ?
		AND id NOT IN (SELECT part_id FROM file_parts WHERE file_id = ?)`, u.ID, f.ID)
	if err != nil {
		return store.File{}, false, fmt.Errorf("complete upload %s: list unlisted parts for removal: %w", u.ID, err)
	}
	leftOut, err := res.RowsAffected()
	if err != nil {
		return store.File{}, false, fmt.Errorf("complete upload %s: list unlisted parts for removal: %w", u.ID, err)
	}
	if leftOut > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM parts WHERE upload_id = ?
			AND id NOT IN (SELECT part_id FROM file_parts WHERE file_id = ?)`, u.ID, f.ID); err != nil {
			return store.File{}, false, fmt.Errorf("complete upload %s: delete unlisted parts: %w", u.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return store.File{}, false, fmt.Errorf("complete upload %s: %w", u.ID, noSpace(err))
	}
	return f, leftOut > 0, nil
}

// rowQueryer runs a query returning rows: a pool or a transaction.
type rowQueryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}
