package sqlitestore

// Tests that kill mutants the package's other tests let live (see RELIABILITY.md, "Mutation
// testing").

import (
	"context"
	"errors"
	"reflect"
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

// TestCompleteWakesTheRemoverOnlyForLeftOutParts: a completion that leaves parts out wakes the
// background remover, which is to remove their files; one that leaves none out does not. The
// remover is stopped first, so that a wake-up stays in its channel to be seen.
func TestCompleteWakesTheRemoverOnlyForLeftOutParts(t *testing.T) {
	s := openTemp(t, t.TempDir())
	s.stopRemover()

	all := mustCreate(t, s, 2)
	mustComplete(t, s, all.ID, mustAddPart(t, s, all.ID, "ab").ID)
	if n := len(s.removerKick); n != 0 {
		t.Errorf("a completion that leaves no part out woke the remover")
	}

	some := mustCreate(t, s, 2)
	kept := mustAddPart(t, s, some.ID, "ab")
	left := mustAddPart(t, s, some.ID, "cd")
	mustComplete(t, s, some.ID, kept.ID)
	if n := len(s.removerKick); n != 1 {
		t.Errorf("a completion that leaves a part out did not wake the remover")
	}
	// What the remover would do: the left-out part's file goes, the kept one's stays.
	if err := s.Settle(context.Background()); err != nil {
		t.Fatalf("Settle: %v", err)
	}
	if exists(t, s.partPath(some.ID, left.ID)) || !exists(t, s.partPath(some.ID, kept.ID)) {
		t.Errorf("after the remover's run: left-out part file exists %v, kept one %v; want false, true",
			exists(t, s.partPath(some.ID, left.ID)), exists(t, s.partPath(some.ID, kept.ID)))
	}
}

// TestListFilesEndsAtAFullLastPage: a last page holding exactly the limit says no more follow.
func TestListFilesEndsAtAFullLastPage(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	for range 2 {
		u := mustCreate(t, s, 1)
		mustComplete(t, s, u.ID, mustAddPart(t, s, u.ID, "a").ID)
	}
	for _, limit := range []int{1, 2, 3} {
		files, more, err := s.ListFiles(ctx, owner, store.FileQuery{Limit: limit}, t0)
		if err != nil {
			t.Fatalf("ListFiles(limit %d): %v", limit, err)
		}
		if want, wantMore := min(limit, 2), limit < 2; len(files) != want || more != wantMore {
			t.Errorf("ListFiles(limit %d) of 2 files = %d files, more %v; want %d, more %v", limit, len(files), more, want, wantMore)
		}
	}
}

// TestSweepReleasesEveryExpiredFile: one sweep releases the bytes of every file expired at once,
// not only of the first it finds.
func TestSweepReleasesEveryExpiredFile(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	const n = 3
	for range n {
		u := store.Upload{ID: randomID("upload_"), Owner: owner, Filename: "f.txt", Purpose: "batch",
			MIMEType: "text/plain", Bytes: 2, CreatedAt: t0, ExpiresAt: t0 + 3600, FileExpiresAfter: 60,
			Status: store.StatusPending}
		if err := s.CreateUpload(ctx, u); err != nil {
			t.Fatalf("CreateUpload: %v", err)
		}
		mustComplete(t, s, u.ID, mustAddPart(t, s, u.ID, "ab").ID)
	}
	got, err := s.SweepExpired(ctx, t0+60)
	if want := (store.SweepResult{Files: n, Bytes: 2 * n}); err != nil || got != want {
		t.Errorf("SweepExpired = %+v, %v; want %+v", got, err, want)
	}
	if files := filesUnder(t, s.partsDir); len(files) != 0 {
		t.Errorf("after the sweep, part files remain: %v", files)
	}
}

// TestStatsCounts: Stats counts uploads by their status at the time asked, the parts of pending
// uploads and the Files that exist.
func TestStatsCounts(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	pending := mustCreate(t, s, 5)
	mustAddPart(t, s, pending.ID, "abc")
	done := mustCreate(t, s, 2)
	mustComplete(t, s, done.ID, mustAddPart(t, s, done.ID, "de").ID)
	cancelled := mustCreate(t, s, 1)
	if _, err := s.Cancel(ctx, owner, cancelled.ID, t0); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	got, err := s.Stats(ctx, t0)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	want := store.Stats{Uploads: map[store.Status]int64{store.StatusPending: 1, store.StatusExpired: 0,
		store.StatusCompleted: 1, store.StatusCancelled: 1}, PendingPartBytes: 3, Files: 1, FileBytes: 2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Stats at t0 = %+v, want %+v", got, want)
	}
	// An hour later the pending upload has expired, and its parts no longer count.
	if got, err := s.Stats(ctx, t0+3600); err != nil || got.Uploads[store.StatusExpired] != 1 ||
		got.Uploads[store.StatusPending] != 0 || got.PendingPartBytes != 0 {
		t.Errorf("Stats at expiry = %+v, %v; want the pending upload expired, no pending bytes", got, err)
	}
}
