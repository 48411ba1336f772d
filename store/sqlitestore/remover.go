package sqlitestore

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/uploadkit/uploads/store/internal/record"
)

// The remover takes the removal of part files off the request path. Cancel marks the upload's
// bytes as releasing and deletes its part rows in its one transaction, then wakes the remover,
// which removes the upload's directory and marks it released, batching the marks of every upload
// it found into one transaction. The mark is in the database before the answer, so nothing is
// lost to a crash: an upload still marked releasing is released by the next sweep (SweepExpired,
// which the server runs at start and then periodically) or the remover's next run.

// removeBatch is how many uploads one marking transaction of the remover covers.
const removeBatch = 256

// startRemover starts the background remover; Close stops it.
func (s *Store) startRemover() {
	s.removerKick = make(chan struct{}, 1)
	s.removerStop = make(chan struct{})
	s.removerDone = make(chan struct{})
	go func() {
		defer close(s.removerDone)
		for {
			select {
			case <-s.removerStop:
				return
			case <-s.removerKick:
			}
			_, _ = s.releaseAll(context.Background())
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
// released, in transactions of up to removeBatch uploads, and returns how many it marked. The
// remover and the sweeper take turns (releaseMu), so an upload is counted by one of them only.
func (s *Store) releaseAll(ctx context.Context) (int, error) {
	s.releaseMu.Lock()
	defer s.releaseMu.Unlock()
	ids, err := s.releasingUploads(ctx)
	if err != nil {
		return 0, err
	}
	removed := ids[:0]
	for _, id := range ids {
		if err := os.RemoveAll(s.uploadDir(id)); err == nil {
			removed = append(removed, id)
		}
	}
	released := 0
	for len(removed) > 0 {
		batch := removed[:min(len(removed), removeBatch)]
		removed = removed[len(batch):]
		var n int64
		err := s.freeing(func() error {
			res, err := s.write.ExecContext(ctx, `UPDATE uploads SET bytes_state = ?
				WHERE bytes_state = ? AND id IN (SELECT value FROM json_each(?))`,
				record.BytesReleased, record.BytesReleasing, jsonStrings(batch))
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return released, fmt.Errorf("mark uploads released: %w", err)
		}
		released += int(n)
	}
	if s.reserveMissing.Load() {
		_ = s.keepReserve() // from the bytes just freed
	}
	return released, nil
}

// jsonStrings is ids as a JSON array, for json_each. The ids hold only letters, digits, '-' and
// '_' (record.ValidID), so none needs escaping.
func jsonStrings(ids []string) string {
	return `["` + strings.Join(ids, `","`) + `"]`
}

// Settle removes now the part files the background remover has yet to remove (of uploads
// cancelled, or files deleted, a moment ago) and marks their uploads released. Tests call it to
// look at the disk as it will be; a program never needs to.
func (s *Store) Settle(ctx context.Context) error {
	_, err := s.releaseAll(ctx)
	return err
}
