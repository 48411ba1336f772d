package sqlitestore

// Tests that kill mutants the package's other tests let live (see RELIABILITY.md, "Mutation
// testing").

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// TestCancelWhoseTransactionCannotBegin: a cancel whose group transaction fails as a whole (here
// it cannot even begin: the store is closed) reports that failure; it never answers success for
// an upload it did not cancel.
func TestCancelWhoseTransactionCannotBegin(t *testing.T) {
	s := openTemp(t, t.TempDir())
	u := mustCreate(t, s, 2)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got, err := s.Cancel(context.Background(), owner, u.ID, t0); err == nil {
		t.Errorf("Cancel on a closed store = %+v, nil; want an error", got)
	}
}

// waitCancels waits until the cancel queue is committing a group and holds pending cancels
// waiting for the next one. It spins on the queue's own state, not on time.
func waitCancels(s *Store, pending int) {
	for {
		s.cancels.mu.Lock()
		ok := s.cancels.committing && len(s.cancels.pending) == pending
		s.cancels.mu.Unlock()
		if ok {
			return
		}
		runtime.Gosched()
	}
}

// TestCancelGroupRollsBackAFailureAlone: in a group of cancels sharing one transaction, a cancel
// whose second statement fails (its upload already marked cancelled by the first) is rolled back
// alone: its upload stays pending with its parts, while the other cancel of the group commits.
// The group is formed deterministically: the test holds the write connection while a first
// cancel waits for it, and the two others queue behind that one.
func TestCancelGroupRollsBackAFailureAlone(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	first, failing, other := mustCreate(t, s, 2), mustCreate(t, s, 2), mustCreate(t, s, 2)
	for _, u := range []store.Upload{first, failing, other} {
		mustAddPart(t, s, u.ID, "ab")
	}
	if _, err := s.write.ExecContext(ctx, `CREATE TRIGGER fault BEFORE DELETE ON parts
		WHEN OLD.upload_id = '`+failing.ID+`' BEGIN SELECT RAISE(ABORT, 'injected fault'); END`); err != nil {
		t.Fatal(err)
	}

	hold, err := s.write.BeginTx(ctx, nil) // the one write connection
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	cancel := func(id string) { _, err := s.Cancel(ctx, owner, id, t0); errs <- err }
	go cancel(first.ID)
	waitCancels(s, 0) // the first cancel's group is taken, and waits for the connection
	var failingErr, otherErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, failingErr = s.Cancel(ctx, owner, failing.ID, t0)
	}()
	go cancel(other.ID)
	waitCancels(s, 2) // both queued behind the first: they form the next group together
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	<-done
	for range 2 {
		if err := <-errs; err != nil {
			otherErr = err
		}
	}

	if failingErr == nil {
		t.Errorf("the cancel whose parts' delete fails succeeded")
	}
	if otherErr != nil {
		t.Errorf("a cancel sharing the group of a failing one: %v", otherErr)
	}
	wantStatus(t, s, first.ID, store.StatusCancelled)
	wantStatus(t, s, other.ID, store.StatusCancelled)
	wantStatus(t, s, failing.ID, store.StatusPending)
	var parts int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM parts WHERE upload_id = ?`, failing.ID).Scan(&parts); err != nil || parts != 1 {
		t.Errorf("the upload whose cancel failed has %d parts (%v), want 1", parts, err)
	}
	if errors.Is(failingErr, store.ErrNotFound) {
		t.Errorf("the failing cancel: %v, want the injected fault", failingErr)
	}
}
