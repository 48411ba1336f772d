package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// sweepBatch is how many uploads one query of the sweeper looks at.
const sweepBatch = 500

// writeGraceSeconds is how long a part object may take to be written before the sweeper takes it
// for one left by a crash, even while its upload is still pending.
const writeGraceSeconds = 3600

// SweepExpired releases the part objects of uploads that expired (pending past ExpiresAt at now),
// of files that expired, and of uploads whose release after cancel, complete or a file's deletion
// did not finish, and deletes objects left by part writes that never ended (a crash between
// writing the object and recording the part). Several replicas may sweep at once: each upload is
// claimed under a row lock that the others skip.
//
// The result's Bytes is the recorded size of the parts whose rows this sweep deleted once their
// objects were deleted: a row is deleted once, by one transaction, so bytes another replica's
// sweep, a cancel or a completion's background release freed are never counted again. Objects of
// unfinished part writes have no recorded size and are not counted.
func (s *Store) SweepExpired(ctx context.Context, now int64) (store.SweepResult, error) {
	var res store.SweepResult
	var errs []error
	for {
		n, err := s.expireFiles(ctx, now)
		res.Files += n
		if err != nil {
			errs = append(errs, err)
			break
		}
		if n < sweepBatch {
			break
		}
	}
	after := ""
	for {
		ids, err := s.sweepCandidates(ctx, after, now)
		if err != nil {
			errs = append(errs, err)
			return res, fmt.Errorf("sweep: %w", errors.Join(errs...))
		}
		for _, id := range ids {
			counted, freed, err := s.sweepUpload(ctx, id, now)
			res.Bytes += freed
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if counted {
				res.Uploads++
			}
		}
		if len(ids) < sweepBatch {
			break
		}
		after = ids[len(ids)-1]
	}
	if err := s.sweepWrites(ctx, now); err != nil {
		errs = append(errs, err)
	}
	if err := s.sweepMultipart(ctx, now); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("sweep: %w", err)
	}
	return res, nil
}

// expireFiles deletes, as DeleteFile does, up to sweepBatch files expired at now that no other
// sweeper holds, and returns how many. The release of their uploads' objects is left to the
// sweep that follows, which finds them releasing.
func (s *Store) expireFiles(ctx context.Context, now int64) (int, error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("expire files: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, `SELECT `+fileColumns+` FROM files
		WHERE deleted_at IS NULL AND expires_at IS NOT NULL AND expires_at <= $1
		LIMIT $2 FOR UPDATE SKIP LOCKED`, now, sweepBatch)
	if err != nil {
		return 0, fmt.Errorf("expire files: %w", err)
	}
	files, err := pgx.CollectRows(rows, pgx.RowToStructByPos[store.File])
	if err != nil {
		return 0, fmt.Errorf("expire files: %w", err)
	}
	if len(files) == 0 {
		return 0, nil
	}
	if err := dropFiles(ctx, tx, files, now); err != nil {
		return 0, fmt.Errorf("expire files: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("expire files: %w", err)
	}
	return len(files), nil
}

// sweepCandidates lists, in id order after after, uploads whose bytes need releasing at now.
func (s *Store) sweepCandidates(ctx context.Context, after string, now int64) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT id FROM uploads
		WHERE bytes_state < $1 AND (bytes_state = $2 OR (status = 'pending' AND expires_at <= $3)) AND id > $4
		ORDER BY id LIMIT $5`, record.BytesReleased, record.BytesReleasing, now, after, sweepBatch)
	if err != nil {
		return nil, fmt.Errorf("list uploads to sweep: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list uploads to sweep: %w", err)
	}
	return ids, nil
}

// sweepUpload claims one upload, marks it releasing if it expired, and releases it. It reports
// whether the upload was an expired or cancelled one (not a completed one whose leftover parts
// were released), and the bytes the release freed. An upload another sweeper holds is skipped.
func (s *Store) sweepUpload(ctx context.Context, uploadID string, now int64) (bool, int64, error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return false, 0, fmt.Errorf("sweep upload %s: %w", uploadID, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var status store.Status
	var state int16
	err = tx.QueryRow(ctx, `SELECT status, bytes_state FROM uploads WHERE id = $1 AND bytes_state < $2
		AND (bytes_state = $3 OR (status = 'pending' AND expires_at <= $4)) FOR UPDATE SKIP LOCKED`,
		uploadID, record.BytesReleased, record.BytesReleasing, now).Scan(&status, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, 0, nil // swept meanwhile, or held by another sweeper
	}
	if err != nil {
		return false, 0, fmt.Errorf("sweep upload %s: %w", uploadID, err)
	}
	if state == record.BytesLive {
		if _, err := tx.Exec(ctx, `UPDATE uploads SET bytes_state = $2 WHERE id = $1`, uploadID, record.BytesReleasing); err != nil {
			return false, 0, fmt.Errorf("sweep upload %s: %w", uploadID, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return false, 0, fmt.Errorf("sweep upload %s: %w", uploadID, err)
	}
	freed, err := s.release(ctx, uploadID)
	if err != nil {
		return false, freed, fmt.Errorf("sweep: %w", err)
	}
	return status != store.StatusCompleted, freed, nil
}

// sweepWrites aborts the unfinished S3 multipart uploads and deletes the objects of part writes
// that can no longer be recorded (their upload is no longer pending at now) or that started more
// than writeGraceSeconds ago, then forgets their notes.
// It holds the notes' rows locked while it deletes the objects: a writer recording its part at
// the same moment waits, then finds its note gone and gives up, so a recorded part never loses
// its object. If the sweeper dies midway the notes stay and the next sweep tries again.
func (s *Store) sweepWrites(ctx context.Context, now int64) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("sweep unfinished part writes: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	rows, err := tx.Query(ctx, `SELECT w.object_key FROM part_writes w JOIN uploads u ON u.id = w.upload_id
		WHERE u.status <> 'pending' OR u.bytes_state <> $1 OR u.expires_at <= $2 OR w.started_at <= $3
		LIMIT $4 FOR UPDATE OF w SKIP LOCKED`,
		record.BytesLive, now, now-writeGraceSeconds, sweepBatch)
	if err != nil {
		return fmt.Errorf("list unfinished part writes: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list unfinished part writes: %w", err)
	}
	if len(keys) == 0 {
		return nil
	}
	var errs []error
	for _, key := range keys {
		if err := s.abortUnfinished(ctx, key); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("unfinished part writes: %w", err)
	}
	if err := s.removeObjects(ctx, keys); err != nil {
		return fmt.Errorf("delete objects of unfinished part writes: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM part_writes WHERE object_key = ANY($1)`, keys); err != nil {
		return fmt.Errorf("forget unfinished part writes: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("forget unfinished part writes: %w", err)
	}
	return nil
}

// sweepMultipart aborts the unfinished S3 multipart uploads of part objects that started more
// than writeGraceSeconds before now and whose write has no note: the second line behind
// sweepWrites, for a writer that died after a sweeper took its note. It lists the unfinished
// multipart uploads under the store's prefix, which are only the streamed parts being written.
func (s *Store) sweepMultipart(ctx context.Context, now int64) error {
	cutoff := time.Unix(now-writeGraceSeconds, 0)
	var stale []string
	for u := range s.s3.ListIncompleteUploads(ctx, s.bucket, s.prefix+"parts/", true) {
		if u.Err != nil {
			return fmt.Errorf("list unfinished multipart uploads: %w", u.Err)
		}
		if u.Initiated.Before(cutoff) {
			stale = append(stale, u.Key)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	rows, err := s.db.Query(ctx, `SELECT object_key FROM part_writes WHERE object_key = ANY($1)`, stale)
	if err != nil {
		return fmt.Errorf("unfinished multipart uploads: %w", err)
	}
	noted, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("unfinished multipart uploads: %w", err)
	}
	var errs []error
	for _, key := range stale {
		if !slices.Contains(noted, key) {
			if err := s.abortUnfinished(ctx, key); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
