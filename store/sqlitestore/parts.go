package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// AddPart streams data into a new part file and then records the part, in this order, so that a
// recorded part always has all its bytes on disk. The upload is checked before any byte is read
// (so a part for a finished upload is refused at once) and again in the transaction that records
// the part, at the time now reads then (so a part never lands on an upload that was completed,
// cancelled, swept or expired meanwhile, and never past lim). The file is written outside any
// transaction, so many parts of one upload can be written at once; only the short recording
// transactions take turns, and the single writer connection makes their checks of lim exact.
func (s *Store) AddPart(ctx context.Context, owner, uploadID, partID string, data io.Reader, lim store.Limits, now store.Clock) (store.Part, error) {
	const op = "add a part to"
	if !record.ValidID(partID) {
		return store.Part{}, fmt.Errorf("add part %q: the id may hold only letters, digits, '-' and '_'", partID)
	}
	if lim.MaxPart < 0 {
		return store.Part{}, fmt.Errorf("add part %s: negative maximum size %d", partID, lim.MaxPart)
	}
	u, err := loadUpload(ctx, s.read, owner, uploadID)
	if err != nil {
		return store.Part{}, fmt.Errorf("add part %s: %w", partID, err)
	}
	if err := u.StateError(op, now()); err != nil {
		return store.Part{}, err
	}
	// Refuse at once, before reading any byte, when the upload or the owner is already full.
	if err := s.checkLimits(ctx, s.read, owner, uploadID, 0, lim, now()); err != nil {
		return store.Part{}, err
	}
	return s.storePart(ctx, owner, uploadID, partID, data, lim, now)
}

// storePart is AddPart once the upload was found pending: a cancel may commit at any moment from
// here on.
func (s *Store) storePart(ctx context.Context, owner, uploadID, partID string, data io.Reader, lim store.Limits, now store.Clock) (store.Part, error) {
	const op = "add a part to"
	path := s.partPath(uploadID, partID)
	size, err := s.writePart(ctx, uploadID, path, data, lim.MaxPart)
	if errors.Is(err, errTooLarge) {
		s.removeEmptyDir(uploadID)
		return store.Part{}, fmt.Errorf("add part %s to upload %s: %w (more than %d bytes)", partID, uploadID, store.ErrPartTooLarge, lim.MaxPart)
	}
	if err != nil {
		// The upload may have been cancelled meanwhile, which removes its directory.
		defer s.removeEmptyDir(uploadID)
		if u, lerr := loadUpload(context.WithoutCancel(ctx), s.read, owner, uploadID); lerr == nil {
			if serr := u.StateError(op, now()); serr != nil {
				return store.Part{}, serr
			}
		}
		return store.Part{}, fmt.Errorf("add part %s to upload %s: %w", partID, uploadID, noSpace(err))
	}

	createdAt, err := s.recordPart(ctx, owner, uploadID, partID, size, lim, now)
	if err != nil {
		s.dropUnrecordedPart(uploadID, partID, path)
		return store.Part{}, err
	}
	return store.Part{ID: partID, UploadID: uploadID, Size: size, CreatedAt: createdAt}, nil
}

// writePart makes sure the upload's directory exists, durably, and writes the part file in it.
func (s *Store) writePart(ctx context.Context, uploadID, path string, data io.Reader, maxSize int64) (int64, error) {
	if err := os.Mkdir(s.uploadDir(uploadID), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return 0, fmt.Errorf("create part directory: %w", err)
	}
	// Synced every time, not only by whoever created the directory: this part's record must not
	// become durable before the directory entry that leads to its bytes.
	if err := s.sync.dir(s.partsDir); err != nil {
		return 0, err
	}
	bufp := s.writeBuffers.Get().(*[]byte)
	defer s.writeBuffers.Put(bufp)
	return writePartFile(ctx, s.sync, path, data, maxSize, *bufp)
}

// recordPart records a part whose bytes are durable, if, at the time now reads in the recording
// transaction, the upload is still pending, unexpired and its bytes not released, and the part
// keeps within lim. It returns that time, the part's creation time.
func (s *Store) recordPart(ctx context.Context, owner, uploadID, partID string, size int64, lim store.Limits, now store.Clock) (int64, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("record part %s: %w", partID, noSpace(err))
	}
	defer tx.Rollback()
	// The clock is read once the write lock is held (BEGIN IMMEDIATE): nothing can change the
	// upload between this time and the commit.
	at := now()
	u, err := loadUpload(ctx, tx, owner, uploadID)
	if err != nil {
		return 0, fmt.Errorf("record part %s: %w", partID, err)
	}
	if err := u.StateError("add a part to", at); err != nil {
		return 0, err
	}
	if err := s.checkLimits(ctx, tx, owner, uploadID, size, lim, at); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO parts (id, upload_id, size, created_at)
		SELECT ?, id, ?, ? FROM uploads
		WHERE id = ? AND owner = ? AND status = 'pending' AND expires_at > ? AND bytes_state = 0`,
		partID, size, at, uploadID, owner, at)
	if err != nil {
		return 0, fmt.Errorf("record part %s: %w", partID, noSpace(err))
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return 0, fmt.Errorf("record part %s: upload %s refused it (rows %d, %v)", partID, uploadID, n, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("record part %s: %w", partID, noSpace(err))
	}
	return at, nil
}

// checkLimits refuses a part of size bytes that would take the upload's parts past lim.MaxUpload
// or the owner's bytes past lim.Quota, counted at time now.
func (s *Store) checkLimits(ctx context.Context, q queryer, owner, uploadID string, size int64, lim store.Limits, now int64) error {
	if lim.MaxUpload > 0 {
		var stored int64
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM parts WHERE upload_id = ?`,
			uploadID).Scan(&stored); err != nil {
			return fmt.Errorf("add part to upload %s: sum its parts: %w", uploadID, err)
		}
		if stored+size > lim.MaxUpload || (size == 0 && stored >= lim.MaxUpload) {
			return &store.UploadFullError{UploadID: uploadID, Stored: stored, Part: size, Max: lim.MaxUpload}
		}
	}
	if lim.Quota > 0 {
		var used int64
		if err := q.QueryRowContext(ctx, `SELECT
			COALESCE((SELECT SUM(p.size) FROM parts p JOIN uploads u ON u.id = p.upload_id
				WHERE u.owner = ? AND u.status <> 'completed'), 0) +
			COALESCE((SELECT SUM(bytes) FROM files WHERE owner = ? AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > ?)), 0)`,
			owner, owner, now).Scan(&used); err != nil {
			return fmt.Errorf("add part to upload %s: sum the owner's bytes: %w", uploadID, err)
		}
		if used+size > lim.Quota || (size == 0 && used >= lim.Quota) {
			return &store.QuotaError{Used: used, Part: size, Quota: lim.Quota}
		}
	}
	return nil
}

// removeEmptyDir removes the part directory of an upload if it is empty and the upload can take
// no more parts. A part that failed after a cancel or a sweep removed the directory made it anew;
// left alone it would stay until the store is opened again. A pending upload's empty directory
// stays: another part may be about to be written in it.
func (s *Store) removeEmptyDir(uploadID string) {
	var pending bool
	err := s.read.QueryRowContext(context.Background(),
		`SELECT status = 'pending' AND bytes_state = 0 FROM uploads WHERE id = ?`, uploadID).Scan(&pending)
	if err == nil && !pending {
		os.Remove(s.uploadDir(uploadID)) // fails, as it should, when the directory holds files
	}
}

// dropUnrecordedPart removes the file of a part whose recording failed, unless the record exists
// after all (a commit can fail after it took effect). When in doubt the file stays: Open removes
// part files that no recorded part owns.
func (s *Store) dropUnrecordedPart(uploadID, partID, path string) {
	var n int
	err := s.read.QueryRowContext(context.Background(),
		`SELECT COUNT(*) FROM parts WHERE id = ? AND upload_id = ?`, partID, uploadID).Scan(&n)
	if err == nil && n == 0 {
		os.Remove(path)
		s.removeEmptyDir(uploadID)
	}
}
