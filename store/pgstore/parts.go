package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// cleanupTimeout bounds the work done after a request failed or ended (deleting objects it left),
// which runs even when the request's context is done.
const cleanupTimeout = 30 * time.Second

// AddPart streams data into a new part object and then records the part, in this order, so that
// a recorded part always has all its bytes in the bucket. The upload is checked before any byte
// is read (so a part for a finished upload is refused at once) and again, under a share lock on
// the upload's row, in the transaction that records the part (so a part never lands on an upload
// that was completed, cancelled or swept meanwhile, on this replica or another). The object is
// written outside any transaction, so many parts of one upload can be written at once. The
// recording transaction reads the clock again, so an upload that expired while the part streamed
// in takes no part, and checks lim under advisory locks on the owner (for the quota) and the
// upload (for its total), so that parts recorded at once on several replicas cannot together go
// past either.
func (s *Store) AddPart(ctx context.Context, owner, uploadID, partID string, data io.Reader, lim store.Limits, now store.Clock) (_ store.Part, err error) {
	defer func() { err = noSpace(err) }()
	const op = "add a part to"
	if !record.ValidID(partID) {
		return store.Part{}, fmt.Errorf("add part %q: the id may hold only letters, digits, '-' and '_'", partID)
	}
	maxSize := lim.MaxPart
	if maxSize < 0 {
		return store.Part{}, fmt.Errorf("add part %s: negative maximum size %d", partID, maxSize)
	}
	u, err := loadUpload(ctx, s.db, owner, uploadID, noLock)
	if err != nil {
		return store.Part{}, fmt.Errorf("add part %s: %w", partID, err)
	}
	if err := u.StateError(op, now()); err != nil {
		return store.Part{}, err
	}
	// Refuse at once, before any byte is read, when the upload or the owner is already full.
	if err := checkLimits(ctx, s.db, owner, uploadID, 0, lim, now()); err != nil {
		return store.Part{}, err
	}

	key := s.partKey(uploadID, partID)
	if _, err := s.db.Exec(ctx, `INSERT INTO part_writes (object_key, upload_id, started_at) VALUES ($1, $2, $3)`,
		key, uploadID, now()); err != nil {
		return store.Part{}, fmt.Errorf("add part %s to upload %s: note the object being written: %w", partID, uploadID, err)
	}
	size, err := s.putPart(ctx, key, data, maxSize)
	if err != nil {
		s.dropUnrecordedPart(ctx, key)
		if errors.Is(err, errTooLarge) {
			return store.Part{}, fmt.Errorf("add part %s to upload %s: %w (more than %d bytes)", partID, uploadID, store.ErrPartTooLarge, maxSize)
		}
		// The upload may have been cancelled or completed meanwhile: say so rather than
		// report a broken stream.
		if u, lerr := loadUpload(context.WithoutCancel(ctx), s.db, owner, uploadID, noLock); lerr == nil {
			if serr := u.StateError(op, now()); serr != nil {
				return store.Part{}, serr
			}
		}
		return store.Part{}, fmt.Errorf("add part %s to upload %s: %w", partID, uploadID, err)
	}

	createdAt, err := s.recordPart(ctx, owner, uploadID, partID, key, size, lim, now)
	if err != nil {
		s.dropUnrecordedPart(ctx, key)
		return store.Part{}, err
	}
	return store.Part{ID: partID, UploadID: uploadID, Size: size, CreatedAt: createdAt}, nil
}

// recordPart records a part whose bytes are in the bucket if, at the time now reads once the
// locks are held (the part's creation time, which it returns), the upload is still pending,
// unexpired and its bytes not released, and the part keeps within lim.
func (s *Store) recordPart(ctx context.Context, owner, uploadID, partID, key string, size int64, lim store.Limits, now store.Clock) (int64, error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("record part %s: %w", partID, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// Owner first, then upload: every recording takes them in this order.
	if lim.Quota > 0 {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('owner:' || $1, 0))`, owner); err != nil {
			return 0, fmt.Errorf("record part %s: %w", partID, err)
		}
	}
	if lim.MaxUpload > 0 {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('upload:' || $1, 0))`, uploadID); err != nil {
			return 0, fmt.Errorf("record part %s: %w", partID, err)
		}
	}
	u, err := loadUpload(ctx, tx, owner, uploadID, shareLock)
	if err != nil {
		return 0, fmt.Errorf("record part %s: %w", partID, err)
	}
	at := now()
	if err := u.StateError("add a part to", at); err != nil {
		return 0, err
	}
	if err := checkLimits(ctx, tx, owner, uploadID, size, lim, at); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO parts (id, upload_id, size, created_at, object_key) VALUES ($1, $2, $3, $4, $5)`,
		partID, uploadID, size, at, key); err != nil {
		return 0, fmt.Errorf("record part %s: %w", partID, err)
	}
	// The note must still be there: a sweeper that took it is deleting the object.
	tag, err := tx.Exec(ctx, `DELETE FROM part_writes WHERE object_key = $1`, key)
	if err != nil {
		return 0, fmt.Errorf("record part %s: %w", partID, err)
	}
	if tag.RowsAffected() != 1 {
		return 0, fmt.Errorf("record part %s: its object was swept while it was being written", partID)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("record part %s: %w", partID, err)
	}
	return at, nil
}

// checkLimits refuses a part of size bytes that would take the upload's parts past lim.MaxUpload
// or the owner's bytes past lim.Quota, counted at time now.
func checkLimits(ctx context.Context, q querier, owner, uploadID string, size int64, lim store.Limits, now int64) error {
	if lim.MaxUpload > 0 {
		var stored int64
		if err := q.QueryRow(ctx, `SELECT COALESCE(SUM(size), 0)::bigint FROM parts WHERE upload_id = $1`,
			uploadID).Scan(&stored); err != nil {
			return fmt.Errorf("add part to upload %s: sum its parts: %w", uploadID, err)
		}
		if stored+size > lim.MaxUpload || (size == 0 && stored >= lim.MaxUpload) {
			return &store.UploadFullError{UploadID: uploadID, Stored: stored, Part: size, Max: lim.MaxUpload}
		}
	}
	if lim.Quota > 0 {
		var used int64
		if err := q.QueryRow(ctx, `SELECT
			COALESCE((SELECT SUM(p.size) FROM parts p JOIN uploads u ON u.id = p.upload_id
				WHERE u.owner = $1 AND u.status <> 'completed'), 0)::bigint +
			COALESCE((SELECT SUM(bytes) FROM files WHERE owner = $1 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $2)), 0)::bigint`,
			owner, now).Scan(&used); err != nil {
			return fmt.Errorf("add part to upload %s: sum the owner's bytes: %w", uploadID, err)
		}
		if used+size > lim.Quota || (size == 0 && used >= lim.Quota) {
			return &store.QuotaError{Used: used, Part: size, Quota: lim.Quota}
		}
	}
	return nil
}

// dropUnrecordedPart aborts any unfinished S3 multipart upload of a part whose writing or
// recording failed, deletes its object, and then the note that
// it was being written, unless the part was recorded after all (a commit can fail after it took
// effect). When in doubt the note stays, and the sweeper deletes the object later.
func (s *Store) dropUnrecordedPart(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var recorded bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM parts WHERE object_key = $1)`, key).Scan(&recorded); err != nil || recorded {
		return
	}
	if err := s.abortUnfinished(ctx, key); err != nil {
		return
	}
	if err := s.removeObjects(ctx, []string{key}); err != nil {
		return
	}
	_, _ = s.db.Exec(ctx, `DELETE FROM part_writes WHERE object_key = $1`, key)
}
