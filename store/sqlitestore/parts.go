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
// the part (so a part never lands on an upload that was completed, cancelled or swept meanwhile).
// The file is written outside any transaction, so many parts of one upload can be written at
// once; only the short recording transactions take turns.
func (s *Store) AddPart(ctx context.Context, owner, uploadID, partID string, data io.Reader, maxSize, now int64) (store.Part, error) {
	const op = "add a part to"
	if !record.ValidID(partID) {
		return store.Part{}, fmt.Errorf("add part %q: the id may hold only letters, digits, '-' and '_'", partID)
	}
	if maxSize < 0 {
		return store.Part{}, fmt.Errorf("add part %s: negative maximum size %d", partID, maxSize)
	}
	u, err := loadUpload(ctx, s.read, owner, uploadID)
	if err != nil {
		return store.Part{}, fmt.Errorf("add part %s: %w", partID, err)
	}
	if err := u.StateError(op, now); err != nil {
		return store.Part{}, err
	}

	path := s.partPath(uploadID, partID)
	size, err := s.writePart(ctx, uploadID, path, data, maxSize)
	if errors.Is(err, errTooLarge) {
		return store.Part{}, fmt.Errorf("add part %s to upload %s: %w (more than %d bytes)", partID, uploadID, store.ErrPartTooLarge, maxSize)
	}
	if err != nil {
		// The upload may have been cancelled meanwhile, which removes its directory.
		if u, lerr := loadUpload(context.WithoutCancel(ctx), s.read, owner, uploadID); lerr == nil {
			if serr := u.StateError(op, now); serr != nil {
				return store.Part{}, serr
			}
		}
		return store.Part{}, fmt.Errorf("add part %s to upload %s: %w", partID, uploadID, err)
	}

	if err := s.recordPart(ctx, owner, uploadID, partID, size, now); err != nil {
		s.dropUnrecordedPart(uploadID, partID, path)
		return store.Part{}, err
	}
	return store.Part{ID: partID, UploadID: uploadID, Size: size, CreatedAt: now}, nil
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

// recordPart records a part whose bytes are durable, created at now, if the upload is still
// pending, unexpired at now, and its bytes not released.
func (s *Store) recordPart(ctx context.Context, owner, uploadID, partID string, size, now int64) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record part %s: %w", partID, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO parts (id, upload_id, size, created_at)
		SELECT ?, id, ?, ? FROM uploads
		WHERE id = ? AND owner = ? AND status = 'pending' AND expires_at > ? AND bytes_state = 0`,
		partID, size, now, uploadID, owner, now)
	if err != nil {
		return fmt.Errorf("record part %s: %w", partID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		u, lerr := loadUpload(ctx, tx, owner, uploadID)
		if lerr != nil {
			return fmt.Errorf("record part %s: %w", partID, lerr)
		}
		if serr := u.StateError("add a part to", now); serr != nil {
			return serr
		}
		return fmt.Errorf("record part %s: upload %s refused it (rows %d, %v)", partID, uploadID, n, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record part %s: %w", partID, err)
	}
	return nil
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
	}
}
