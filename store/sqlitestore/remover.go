package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// The remover takes the removal of part files off the request path. Cancel, and DeleteFile for
// the upload of the file it deletes, mark the upload's bytes as releasing and delete its part rows
// in their one transaction, then wake the remover, which removes the upload's directory and marks
// it released, batching the marks of every upload it found into one transaction. It runs at most
// once per removerPause, so that a stream of cancels or deletions shares its runs, and removes up
// to removeWorkers directories at once. Complete, likewise, moves the parts it leaves out of its
// file from parts to parts_to_remove in its transaction and wakes the remover, which removes their
// files and forgets them. The mark is in the database before the answer, so nothing is lost to a
// crash: Open removes the files no part row owns, and the next sweep (SweepExpired, which the
// server runs periodically) or the remover's next run finishes what is still marked.

// removeBatch is how many uploads one marking transaction of the remover covers.
const removeBatch = 256

// removerPause is the least time between the end of one run of the remover and the start of the
// next. A run begins as soon as it is asked for after a pause; what is asked for during the pause
// waits for its end, so that under a stream of cancels (or file deletions) the remover's marking
// transaction, a synced commit on the one write connection, is shared by all the cancels of a
// pause rather than taken once per cancel. The files of a cancelled upload, or of a deleted file,
// are thus removed at most removerPause (plus one run) after the answer.
const removerPause = 50 * time.Millisecond

// startRemover starts the background remover; Close stops it.
func (s *Store) startRemover() {
	s.removerKick = make(chan struct{}, 1)
	s.removerStop = make(chan struct{})
	s.removerDone = make(chan struct{})
	go func() {
		defer close(s.removerDone)
		pause := time.NewTimer(0)
		defer pause.Stop()
		<-pause.C
		var last time.Time // the end of the last run
		for {
			select {
			case <-s.removerStop:
				return
			case <-s.removerKick:
			}
			if wait := removerPause - time.Since(last); wait > 0 {
				pause.Reset(wait)
				select {
				case <-s.removerStop:
					return
				case <-pause.C:
				}
			}
			_, _ = s.releaseAll(context.Background())
			last = time.Now()
		}
	}()
}

// kickRemover wakes the remover, which runs once more if it is running.
func (s *Store) kickRemover() {
	select {
	case s.removerKick <- struct{}{}:
	default: // a run is already due
	}
}

// stopRemover stops the remover and waits for a run in progress to end. Calls after the first
// do nothing.
func (s *Store) stopRemover() {
	if s.removerStop == nil {
		return
	}
	s.removerStopOnce.Do(func() { close(s.removerStop) })
	<-s.removerDone
}

// releaseAll removes the part files of every upload marked releasing and marks those it removed
// released, in transactions of up to removeBatch uploads. The remover and the sweeper take turns
// (releaseMu), so an upload is released, and its bytes counted, by one of them only.
func (s *Store) releaseAll(ctx context.Context) (store.SweepResult, error) {
	s.releaseMu.Lock()
	defer s.releaseMu.Unlock()
	return s.releaseLocked(ctx)
}

// releaseLocked is releaseAll for a caller holding releaseMu. It reports the bytes of the files it
// removed (removing a file that is already gone frees nothing) and, in Uploads, how many of the
// uploads it marked released were cancelled or expired ones (not completed ones whose file was
// deleted or expired).
func (s *Store) releaseLocked(ctx context.Context) (store.SweepResult, error) {
	var res store.SweepResult
	freed, leftOutErr := s.removeLeftOutParts(ctx) // on an error, the uploads are released all the same
	res.Bytes += freed
	ids, err := s.releasingUploads(ctx)
	if err != nil {
		return res, errors.Join(leftOutErr, err)
	}
	dirs := make([]string, len(ids))
	for i, id := range ids {
		dirs[i] = s.uploadDir(id)
	}
	freedEach, errs := removeDirs(dirs)
	removed := ids[:0]
	for i, id := range ids {
		res.Bytes += freedEach[i]
		if errs[i] == nil {
			removed = append(removed, id)
		}
	}
	for len(removed) > 0 {
		batch := removed[:min(len(removed), removeBatch)]
		removed = removed[len(batch):]
		var n int
		err := s.freeing(func() error {
			var err error
			n, err = s.markReleased(ctx, batch)
			return err
		})
		if err != nil {
			return res, errors.Join(leftOutErr, fmt.Errorf("mark uploads released: %w", err))
		}
		res.Uploads += n
	}
	if s.reserveMissing.Load() {
		_ = s.keepReserve() // from the bytes just freed
	}
	return res, leftOutErr
}

// markReleased marks the uploads ids that are releasing released, and returns how many of those
// it marked were not completed (cancelled or expired).
func (s *Store) markReleased(ctx context.Context, ids []string) (int, error) {
	rows, err := s.write.QueryContext(ctx, `UPDATE uploads SET bytes_state = ?
		WHERE bytes_state = ? AND id IN (SELECT value FROM json_each(?))
		RETURNING status <> 'completed'`,
		record.BytesReleased, record.BytesReleasing, jsonStrings(ids))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var unfinished bool
		if err := rows.Scan(&unfinished); err != nil {
			return 0, err
		}
		if unfinished {
			n++
		}
	}
	return n, rows.Err()
}

// removeLeftOutParts removes the files of the parts completions left out (parts_to_remove) and
// forgets those it removed, in transactions of up to removeBatch parts. It returns the bytes of
// the files it removed: a file Open already removed, as an orphan, frees nothing now.
func (s *Store) removeLeftOutParts(ctx context.Context) (int64, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT upload_id, part_id FROM parts_to_remove`)
	if err != nil {
		return 0, fmt.Errorf("list parts to remove: %w", err)
	}
	var removed [][2]string
	var freed int64
	var errs []error
	for rows.Next() {
		var p [2]string
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			rows.Close()
			return freed, fmt.Errorf("list parts to remove: %w", err)
		}
		n, err := removeFile(s.partPath(p[0], p[1]))
		freed += n
		if err != nil {
			errs = append(errs, err) // the part stays listed, for the next run
			continue
		}
		removed = append(removed, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return freed, fmt.Errorf("list parts to remove: %w", err)
	}
	for len(removed) > 0 {
		batch := removed[:min(len(removed), removeBatch)]
		removed = removed[len(batch):]
		err := s.freeing(func() error {
			_, err := s.write.ExecContext(ctx, `DELETE FROM parts_to_remove
				WHERE (upload_id, part_id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))`, jsonPairs(batch))
			return err
		})
		if err != nil {
			return freed, fmt.Errorf("forget removed parts: %w", err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return freed, fmt.Errorf("remove left-out parts: %w", err)
	}
	return freed, nil
}

// jsonPairs is pairs as a JSON array of two-string arrays, for json_each. The ids hold only
// letters, digits, '-' and '_' (record.ValidID), so none needs escaping.
func jsonPairs(pairs [][2]string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`["` + p[0] + `","` + p[1] + `"]`)
	}
	b.WriteByte(']')
	return b.String()
}

// removeWorkers is how many directories removeDirs removes at once. Removing a file or a
// directory waits on the filesystem's journal far more than it uses the CPU (0.1 to 1 ms each on
// an ext4 disk busy with other syncs), so the waits of several overlap.
const removeWorkers = 8

// removeDirs removes the directories dirs as removeDir does, up to removeWorkers at once, and
// returns what removeDir returned for each, in the order of dirs.
func removeDirs(dirs []string) ([]int64, []error) {
	freed := make([]int64, len(dirs))
	errs := make([]error, len(dirs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(removeWorkers, len(dirs)) {
		wg.Go(func() {
			for i := range next {
				freed[i], errs[i] = removeDir(dirs[i])
			}
		})
	}
	for i := range dirs {
		next <- i
	}
	close(next)
	wg.Wait()
	return freed, errs
}

// removeDir removes an upload's directory of part files and everything in it, and returns the
// size of the files it removed. What is already gone is not an error and frees nothing.
func removeDir(dir string) (int64, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var freed int64
	var errs []error
	for _, e := range entries {
		n, err := removeFile(filepath.Join(dir, e.Name()))
		freed += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	return freed, errors.Join(errs...)
}

// removeFile removes the file (or directory) at path and returns the size of what it removed.
func removeFile(path string) (int64, error) {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if info.IsDir() {
		return removeDir(path)
	}
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	return info.Size(), nil
}

// jsonStrings is ids as a JSON array, for json_each. The ids hold only letters, digits, '-' and
// '_' (record.ValidID), so none needs escaping.
func jsonStrings(ids []string) string {
	return `["` + strings.Join(ids, `","`) + `"]`
}

// Settle removes now the part files the background remover has yet to remove (of uploads
// cancelled, files deleted, or parts a completion left out, a moment ago) and marks their uploads
// released. Tests call it to
// look at the disk as it will be; a program never needs to.
func (s *Store) Settle(ctx context.Context) error {
	_, err := s.releaseAll(ctx)
	return err
}
