package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// Cancel makes a pending, unexpired upload cancelled, marks its bytes releasing and deletes the
// rows of its parts, all in one transaction, and answers once that transaction is committed and
// synced: an answered cancel is on the disk. A lone cancel commits from its caller's goroutine,
// with two prepared statements (an UPDATE ... RETURNING and the parts' DELETE) between BEGIN and
// COMMIT. Cancels that arrive while another group of them is being committed share the next
// transaction and its one sync (group commit), each in its own savepoint, so one that fails (an
// upload already completed, a statement that fails) is rolled back alone. The part files are removed after the answer, by the background
// remover (remover.go); if the process stops first, the upload is still marked releasing and
// SweepExpired removes them. On a full disk the transaction draws on the space reserve (see
// space.go): a cancel is how space is given back.
func (s *Store) Cancel(ctx context.Context, owner, uploadID string, now int64) (store.Upload, error) {
	if err := ctx.Err(); err != nil {
		return store.Upload{}, fmt.Errorf("cancel upload %s: %w", uploadID, err)
	}
	r := &cancelRequest{ctx: ctx, owner: owner, uploadID: uploadID, now: now, done: make(chan struct{})}
	s.cancels.add(r, s.commitCancels)
	<-r.done // once taken into a group, the outcome is the commit's, whatever ctx does meanwhile
	if r.err != nil {
		return store.Upload{}, r.err
	}
	s.kickRemover()
	cancelled := r.u.Upload
	cancelled.Status = store.StatusCancelled
	return cancelled, nil
}

// cancelRequest is one Cancel waiting for its group's commit.
type cancelRequest struct {
	ctx             context.Context
	owner, uploadID string
	now             int64

	u    record.Upload // the upload before the cancel, when it succeeded
	err  error
	done chan struct{} // closed once u and err are final
}

// maxCancelGroup bounds how many cancels share one transaction, to keep other writers' turns
// short.
const maxCancelGroup = 256

// cancelQueue gathers cancels into groups. The first cancel to arrive when no group is being
// committed commits the group; those that arrive meanwhile wait and form the next group, which a
// new goroutine commits as soon as the current one is done.
type cancelQueue struct {
	mu         sync.Mutex
	pending    []*cancelRequest
	committing bool
}

// add queues r, and commits groups with commit until none is pending if no one else does.
func (q *cancelQueue) add(r *cancelRequest, commit func([]*cancelRequest)) {
	q.mu.Lock()
	q.pending = append(q.pending, r)
	if q.committing {
		q.mu.Unlock()
		return
	}
	q.committing = true
	q.mu.Unlock()
	q.run(commit)
}

// run commits one group, then hands the next, if any, to a new goroutine, so that no caller
// commits others' groups for longer than its own.
func (q *cancelQueue) run(commit func([]*cancelRequest)) {
	q.mu.Lock()
	n := min(len(q.pending), maxCancelGroup)
	group := q.pending[:n:n]
	q.pending = q.pending[n:]
	q.mu.Unlock()
	commit(group)
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		q.committing = false
		q.pending = nil
		return
	}
	go q.run(commit)
}

// commitCancels runs a group of cancels in one transaction and settles each.
func (s *Store) commitCancels(group []*cancelRequest) {
	err := s.freeing(func() error { return s.cancelGroup(group) })
	for _, r := range group {
		if err != nil && r.err == nil {
			r.err = fmt.Errorf("cancel upload %s: %w", r.uploadID, err)
		}
		close(r.done)
	}
}

// cancelGroup is the transaction of a group of cancels. A group of one (a lone caller) runs its
// statements in the transaction itself; in a larger group each cancel runs in its own savepoint,
// so that one that fails is rolled back alone. The statements run without the callers' contexts:
// interrupting one statement would roll back the whole transaction, everyone's cancel with it. A
// caller whose context ended before its turn is left out.
func (s *Store) cancelGroup(group []*cancelRequest) error {
	ctx := context.Background()
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return noSpace(err)
	}
	defer tx.Rollback()
	savepoints := len(group) > 1
	changed := false
	for _, r := range group {
		r.err = nil
		if err := r.ctx.Err(); err != nil {
			r.err = fmt.Errorf("cancel upload %s: %w", r.uploadID, err)
			continue
		}
		if savepoints {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT cancel`); err != nil {
				return err
			}
		}
		r.u, r.err = s.cancelIn(ctx, tx, r.owner, r.uploadID, r.now)
		if r.err == nil {
			changed = true
		} else if savepoints {
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO cancel`); err != nil {
				return err
			}
		}
		if savepoints {
			if _, err := tx.ExecContext(ctx, `RELEASE cancel`); err != nil {
				return err
			}
		}
	}
	if !changed {
		return nil // nothing to commit (a lone cancel that failed is rolled back whole); each request has its error
	}
	return tx.Commit()
}

// cancelIn cancels one upload in tx: marks it cancelled and its bytes releasing if it is pending,
// unexpired at now and its bytes live (one UPDATE ... RETURNING, the statement prepared once),
// and deletes its parts' rows. Only when the update finds no such upload is it read, to say why:
// not found, or its state.
func (s *Store) cancelIn(ctx context.Context, tx *sql.Tx, owner, uploadID string, now int64) (record.Upload, error) {
	var u record.Upload
	err := tx.StmtContext(ctx, s.stmts.cancel).QueryRowContext(ctx, record.BytesReleasing, uploadID, owner, now).
		Scan(u.ScanTargets()...)
	if errors.Is(err, sql.ErrNoRows) {
		return record.Upload{}, whyNotCancelled(ctx, tx, owner, uploadID, now)
	}
	if err != nil {
		return record.Upload{}, fmt.Errorf("cancel upload %s: %w", uploadID, err)
	}
	if _, err := tx.StmtContext(ctx, s.stmts.deleteParts).ExecContext(ctx, uploadID); err != nil {
		return record.Upload{}, fmt.Errorf("cancel upload %s: delete parts: %w", uploadID, err)
	}
	return u, nil
}

// whyNotCancelled is the error of a cancel whose update found no pending, unexpired upload with
// live bytes: not found, or the state the upload is in.
func whyNotCancelled(ctx context.Context, tx *sql.Tx, owner, uploadID string, now int64) error {
	u, err := loadUpload(ctx, tx, owner, uploadID)
	if err != nil {
		return fmt.Errorf("cancel: %w", err)
	}
	if err := u.StateError("cancel", now); err != nil {
		return err
	}
	// The transaction holds the write lock since BEGIN IMMEDIATE: what the update found is what
	// was just read.
	return fmt.Errorf("cancel upload %s: the update found no pending upload, yet it reads as pending", uploadID)
}

// cancelSQL marks a pending upload whose bytes are live and that is unexpired at now (the 4th
// argument) cancelled, with its bytes releasing, and returns the row as UploadColumns. The
// conditions are those under which record.Upload.StatusAt reads pending.
const cancelSQL = `UPDATE uploads SET status = 'cancelled', bytes_state = ?
	WHERE id = ? AND owner = ? AND status = 'pending' AND bytes_state = 0 AND expires_at > ?
	RETURNING ` + record.UploadColumns
