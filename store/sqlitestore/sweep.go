package sqlitestore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// sweepBatch is how many uploads one sweeping transaction marks, to keep writers' turns short.
const sweepBatch = 256

// SweepExpired releases the part bytes of cancelled uploads, of pending uploads expired at now and
// of files expired at now. A completed upload is swept only once its file is deleted or expired:
// until then the file references its parts. For each batch of uploads, one transaction marks
// their bytes as releasing (after which no part can be added and the upload cannot be completed)
// and deletes their part rows; then the files are removed and the uploads marked released
// (releaseLocked), with those a cancel or a file deletion marked and the background remover has
// not released yet, and the parts completions left out. An upload whose files could not be
// removed stays marked releasing and is tried again by the next sweep.
//
// Each batch, from its marking to the release of what it marked, holds releaseMu, so the
// background remover cannot release, midway, what the sweep marked: the result's Bytes is the
// size of the part files this sweep removed, measured on the disk just before each removal, and
// its Uploads the cancelled or expired uploads it marked released. The bytes of a cancel, a
// completion or a file deletion whose files the remover removed first are not the sweep's.
// Between batches the remover gets its turn.
//
// On a full disk the sweep draws on the space reserve (see space.go), and once it has freed
// enough, it makes the reserve anew.
func (s *Store) SweepExpired(ctx context.Context, now int64) (store.SweepResult, error) {
	defer func() { _ = s.keepReserve() }()
	var res store.SweepResult
	for _, step := range []struct {
		mark  func(context.Context, int64) (int, error)
		files bool // the marks are of expired files
	}{{s.markForRelease, false}, {s.markExpiredFiles, true}} {
		for {
			n, released, err := s.sweepBatch(ctx, now, step.mark)
			res.Uploads += released.Uploads
			res.Bytes += released.Bytes
			if step.files {
				res.Files += n
			}
			if err != nil {
				return res, err
			}
			if n < sweepBatch {
				break
			}
		}
	}
	return res, nil
}

// sweepBatch marks one batch with mark, then releases it with everything else marked releasing,
// all under releaseMu. It returns how many mark marked, and what the release released.
func (s *Store) sweepBatch(ctx context.Context, now int64, mark func(context.Context, int64) (int, error)) (int, store.SweepResult, error) {
	s.releaseMu.Lock()
	defer s.releaseMu.Unlock()
	var n int
	err := s.freeing(func() error {
		var err error
		n, err = mark(ctx, now)
		return err
	})
	if err != nil {
		return 0, store.SweepResult{}, err
	}
	released, err := s.releaseLocked(ctx)
	if err != nil {
		return n, released, fmt.Errorf("sweep: %w", err)
	}
	return n, released, nil
}

// markForRelease marks up to sweepBatch cancelled or expired uploads whose bytes are live as
// releasing, and deletes their part rows. It returns how many it marked.
func (s *Store) markForRelease(ctx context.Context, now int64) (int, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE uploads SET bytes_state = ? WHERE id IN (
		SELECT id FROM uploads WHERE bytes_state = 0
		AND (status = 'cancelled' OR (status = 'pending' AND expires_at <= ?)) LIMIT ?)`,
		record.BytesReleasing, now, sweepBatch)
	if err != nil {
		return 0, fmt.Errorf("sweep: mark uploads: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sweep: mark uploads: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM parts WHERE upload_id IN (
		SELECT id FROM uploads WHERE bytes_state = ? AND status <> 'completed')`, record.BytesReleasing); err != nil {
		return 0, fmt.Errorf("sweep: delete parts: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	return int(n), nil
}

// markExpiredFiles makes up to sweepBatch files expired at now tombstones, as DeleteFile does, and
// marks their uploads' bytes releasing. It returns how many it marked.
func (s *Store) markExpiredFiles(ctx context.Context, now int64) (int, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT `+fileColumns+` FROM files
		WHERE deleted_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ? LIMIT ?`, now, sweepBatch)
	if err != nil {
		return 0, fmt.Errorf("sweep: list expired files: %w", err)
	}
	var files []store.File
	for rows.Next() {
		f, err := scanFile(rows)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("sweep: list expired files: %w", err)
		}
		files = append(files, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sweep: list expired files: %w", err)
	}
	if len(files) == 0 {
		return 0, nil
	}
	if err := s.dropFiles(ctx, tx, files, now); err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	return len(files), nil
}

// releasingSQL lists the uploads marked releasing. The state is written into the query, not
// bound, so that SQLite reads the partial index uploads_releasing instead of the whole table.
var releasingSQL = `SELECT id FROM uploads WHERE bytes_state = ` + strconv.Itoa(record.BytesReleasing)

// releasingUploads lists the uploads whose part rows are gone but whose files may remain.
func (s *Store) releasingUploads(ctx context.Context) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, releasingSQL)
	if err != nil {
		return nil, fmt.Errorf("sweep: list uploads: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sweep: list uploads: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sweep: list uploads: %w", err)
	}
	return ids, nil
}

// removeOrphans removes what a crash can leave in the parts directory: temporary files, part files
// no recorded part owns, and then-empty upload directories.
func (s *Store) removeOrphans(ctx context.Context) error {
	entries, err := os.ReadDir(s.partsDir)
	if err != nil {
		return fmt.Errorf("remove orphan parts: %w", err)
	}
	for _, e := range entries {
		path := filepath.Join(s.partsDir, e.Name())
		if !e.IsDir() {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("remove orphan parts: %w", err)
			}
			continue
		}
		if err := s.removeOrphansOf(ctx, e.Name()); err != nil {
			return err
		}
		os.Remove(path) // only succeeds when empty
	}
	return nil
}

// removeOrphansOf removes the files of one upload's directory that no recorded part owns.
func (s *Store) removeOrphansOf(ctx context.Context, uploadID string) error {
	recorded, err := partSizes(ctx, s.read, uploadID)
	if err != nil {
		return fmt.Errorf("remove orphan parts: %w", err)
	}
	dir := s.uploadDir(uploadID)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("remove orphan parts: %w", err)
	}
	for _, e := range entries {
		if _, ok := recorded[e.Name()]; ok && !isTempName(e.Name()) && e.Type().IsRegular() {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("remove orphan parts: %w", err)
		}
	}
	return nil
}
