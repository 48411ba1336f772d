package pgstore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// storedPart is a part row: what reading its bytes needs.
type storedPart struct {
	ID   string
	Size int64
	Key  string
}

// Complete turns a pending upload into a completed one whose file is the listed parts, by
// reference: no byte is copied. It works in two steps. First, without locks, it checks the request
// and, when md5Hex is given, reads the parts from the bucket to compute their MD5 (which can take
// long for a large file, and must not hold a lock meanwhile). Then, under a lock on the upload's
// row, it checks again everything but the MD5 (parts cannot change while the upload stays
// pending) and records the file. A cancel racing on another replica either took the lock first,
// and this fails with a *store.StateError, or waits and then finds the upload completed. Under
// the lock the clock is read again: an upload that expired while its MD5 was computed stays as it
// is. The objects of the parts the file leaves out are deleted after the answer, by the background
// remover (remover.go), or by the sweeper if this process stops first.
func (s *Store) Complete(ctx context.Context, owner, uploadID string, partIDs []string, md5Hex, fileID string, now store.Clock) (store.Upload, store.File, error) {
	_, parts, err := s.checkCompletion(ctx, s.db, owner, uploadID, partIDs, now(), noLock)
	if err != nil {
		return store.Upload{}, store.File{}, err
	}
	if md5Hex != "" {
		got, err := s.partsMD5(ctx, parts)
		if err != nil {
			// The upload may have been cancelled meanwhile, releasing its parts.
			if u, lerr := loadUpload(context.WithoutCancel(ctx), s.db, owner, uploadID, noLock); lerr == nil {
				if serr := u.StateError("complete", now()); serr != nil {
					return store.Upload{}, store.File{}, serr
				}
			}
			return store.Upload{}, store.File{}, fmt.Errorf("complete upload %s: %w", uploadID, err)
		}
		if !strings.EqualFold(got, md5Hex) {
			return store.Upload{}, store.File{}, &store.ChecksumError{Want: md5Hex, Got: got}
		}
	}

	tx, err := s.db.Begin(ctx)
	if err != nil {
		return store.Upload{}, store.File{}, fmt.Errorf("complete upload %s: %w", uploadID, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// The lock is taken first, then the clock read: nothing changes the upload after that time.
	if _, err := loadUpload(ctx, tx, owner, uploadID, updateLock); err != nil {
		return store.Upload{}, store.File{}, fmt.Errorf("complete upload: %w", err)
	}
	at := now()
	u, _, err := s.checkCompletion(ctx, tx, owner, uploadID, partIDs, at, updateLock)
	if err != nil {
		return store.Upload{}, store.File{}, err
	}
	f := u.NewFile(fileID, at)
	if _, err := tx.Exec(ctx, `INSERT INTO files (id, owner, upload_id, filename, purpose, bytes, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		f.ID, f.Owner, f.UploadID, f.Filename, f.Purpose, f.Bytes, f.CreatedAt, f.ExpiresAt); err != nil {
		return store.Upload{}, store.File{}, fmt.Errorf("complete upload %s: record file %s: %w", uploadID, f.ID, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO file_parts (file_id, seq, part_id)
		SELECT $1, t.ord::integer, t.part_id FROM unnest($2::text[]) WITH ORDINALITY AS t(part_id, ord)`,
		f.ID, partIDs); err != nil {
		return store.Upload{}, store.File{}, fmt.Errorf("complete upload %s: record the parts of file %s: %w", uploadID, f.ID, err)
	}
	// Parts left out of the file, if any, are to be released: the upload is marked releasing, and
	// once committed, queued for the background remover (the sweeper finds the mark if the
	// process stops first). Without any, its bytes stay live: its file uses them all.
	var state int16
	if err := tx.QueryRow(ctx, `UPDATE uploads SET status = $2, file_id = $3, bytes_state = CASE
			WHEN EXISTS (SELECT 1 FROM parts WHERE upload_id = $1 AND id <> ALL($4::text[])) THEN $5::smallint ELSE $6::smallint END
		WHERE id = $1 RETURNING bytes_state`,
		uploadID, string(store.StatusCompleted), f.ID, partIDs, record.BytesReleasing, record.BytesLive).Scan(&state); err != nil {
		return store.Upload{}, store.File{}, fmt.Errorf("complete upload %s: %w", uploadID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return store.Upload{}, store.File{}, fmt.Errorf("complete upload %s: %w", uploadID, err)
	}
	if state == record.BytesReleasing {
		s.removeLater(uploadID)
	}
	u.Status, u.FileID = store.StatusCompleted, f.ID
	return u.Upload, f, nil
}

// checkCompletion makes every check of Complete but the MD5, in the documented order, and returns
// the upload and its listed parts in order. In a transaction, lock holds the upload's row.
func (s *Store) checkCompletion(ctx context.Context, q querier, owner, uploadID string, partIDs []string, now int64, lock string) (record.Upload, []storedPart, error) {
	u, err := loadUpload(ctx, q, owner, uploadID, lock)
	if err != nil {
		return record.Upload{}, nil, fmt.Errorf("complete upload: %w", err)
	}
	if err := u.StateError("complete", now); err != nil {
		return record.Upload{}, nil, err
	}
	if len(partIDs) == 0 {
		return record.Upload{}, nil, fmt.Errorf("complete upload %s: %w", uploadID, store.ErrNoParts)
	}
	seen := make(map[string]bool, len(partIDs))
	for _, id := range partIDs {
		if seen[id] {
			return record.Upload{}, nil, &store.PartError{PartID: id, Err: store.ErrDuplicatePart}
		}
		seen[id] = true
	}
	byID, err := loadParts(ctx, q, uploadID, partIDs)
	if err != nil {
		return record.Upload{}, nil, fmt.Errorf("complete upload %s: %w", uploadID, err)
	}
	parts := make([]storedPart, 0, len(partIDs))
	var total int64
	for _, id := range partIDs {
		p, ok := byID[id]
		if !ok {
			return record.Upload{}, nil, &store.PartError{PartID: id, Err: store.ErrUnknownPart}
		}
		parts = append(parts, p)
		total += p.Size
	}
	if total != u.Bytes {
		return record.Upload{}, nil, &store.SizeError{Declared: u.Bytes, Got: total}
	}
	return u, parts, nil
}

// loadParts reads the parts of an upload among ids, by id.
func loadParts(ctx context.Context, q querier, uploadID string, ids []string) (map[string]storedPart, error) {
	rows, err := q.Query(ctx, `SELECT id, size, object_key FROM parts WHERE upload_id = $1 AND id = ANY($2)`, uploadID, ids)
	if err != nil {
		return nil, fmt.Errorf("read parts: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowToStructByPos[storedPart])
	if err != nil {
		return nil, fmt.Errorf("read parts: %w", err)
	}
	byID := make(map[string]storedPart, len(found))
	for _, p := range found {
		byID[p.ID] = p
	}
	return byID, nil
}

// partsMD5 is the hex MD5 of the parts' bytes, in order.
func (s *Store) partsMD5(ctx context.Context, parts []storedPart) (string, error) {
	r := s.newPartsReader(ctx, parts)
	defer r.Close()
	h := md5.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", fmt.Errorf("compute md5 of the parts: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
