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
// written outside any transaction, so many parts of one upload can be written at once.
func (s *Store) AddPart(ctx context.Context, owner, uploadID, partID string, data io.Reader, maxSize, now int64) (store.Part, error) {
	const op = "add a part to"
	if !record.ValidID(partID) {
		return store.Part{}, fmt.Errorf("add part %q: the id may hold only letters, digits, '-' and '_'", partID)
	}
	if maxSize < 0 {
		return store.Part{}, fmt.Errorf("add part %s: negative maximum size %d", partID, maxSize)
	}
	u, err := loadUpload(ctx, s.db, owner, uploadID, noLock)
	if err != nil {
		return store.Part{}, fmt.Errorf("add part %s: %w", partID, err)
	}
	if err := u.StateError(op, now); err != nil {
		return store.Part{}, err
	}

	key := s.partKey(uploadID, partID)
	if _, err := s.db.Exec(ctx, `INSERT INTO part_writes (object_key, upload_id, started_at) VALUES ($1, $2, $3)`,
		key, uploadID, now); err != nil {
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
			if serr := u.StateError(op, now); serr != nil {
				return store.Part{}, serr
			}
		}
		return store.Part{}, fmt.Errorf("add part %s to upload %s: %w", partID, uploadID, err)
	}

	if err := s.recordPart(ctx, owner, uploadID, partID, key, size, now); err != nil {
		s.dropUnrecordedPart(ctx, key)
		return store.Part{}, err
	}
	return store.Part{ID: partID, UploadID: uploadID, Size: size, CreatedAt: now}, nil
}

// recordPart records a part whose bytes are in the bucket, created at now, if the upload is still
// pending, unexpired at now, and its bytes not released.
func (s *Store) recordPart(ctx context.Context, owner, uploadID, partID, key string, size, now int64) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("record part %s: %w", partID, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	u, err := loadUpload(ctx, tx, owner, uploadID, shareLock)
	if err != nil {
		return fmt.Errorf("record part %s: %w", partID, err)
	}
	if err := u.StateError("add a part to", now); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO parts (id, upload_id, size, created_at, object_key) VALUES ($1, $2, $3, $4, $5)`,
		partID, uploadID, size, now, key); err != nil {
		return fmt.Errorf("record part %s: %w", partID, err)
	}
	// The note must still be there: a sweeper that took it is deleting the object.
	tag, err := tx.Exec(ctx, `DELETE FROM part_writes WHERE object_key = $1`, key)
	if err != nil {
		return fmt.Errorf("record part %s: %w", partID, err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("record part %s: its object was swept while it was being written", partID)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("record part %s: %w", partID, err)
	}
	return nil
}

// dropUnrecordedPart deletes the object of a part whose recording failed, and then the note that
// it was being written, unless the part was recorded after all (a commit can fail after it took
// effect). When in doubt the note stays, and the sweeper deletes the object later.
func (s *Store) dropUnrecordedPart(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	var recorded bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM parts WHERE object_key = $1)`, key).Scan(&recorded); err != nil || recorded {
		return
	}
	if err := s.removeObjects(ctx, []string{key}); err != nil {
		return
	}
	_, _ = s.db.Exec(ctx, `DELETE FROM part_writes WHERE object_key = $1`, key)
}
