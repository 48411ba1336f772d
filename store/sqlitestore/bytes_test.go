package sqlitestore

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/internal/record"
)

// TestBytesReleased: where part files go after cancel, sweep and completion.
func TestBytesReleased(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())

	cancelled := mustCreate(t, s, 4)
	mustAddPart(t, s, cancelled.ID, "gone")
	if _, err := s.Cancel(ctx, owner, cancelled.ID, t0); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	settle(t, s)
	if exists(t, s.uploadDir(cancelled.ID)) {
		t.Errorf("Cancel left the upload's part files")
	}

	done := mustCreate(t, s, 4)
	used, unused := mustAddPart(t, s, done.ID, "used"), mustAddPart(t, s, done.ID, "extra")
	f := mustComplete(t, s, done.ID, used.ID)
	settle(t, s) // what the background remover does after the answer
	if exists(t, s.partPath(done.ID, unused.ID)) {
		t.Errorf("the part completion did not use is still on disk")
	}
	if !exists(t, s.partPath(done.ID, used.ID)) {
		t.Fatalf("the part the file uses is gone")
	}

	expired := mustCreate(t, s, 4)
	mustAddPart(t, s, expired.ID, "old!")
	if !exists(t, s.uploadDir(expired.ID)) {
		t.Fatalf("no part directory for the expiring upload")
	}
	n, err := s.SweepExpired(ctx, expired.ExpiresAt)
	if want := (store.SweepResult{Uploads: 1, Bytes: 4}); err != nil || n != want {
		t.Fatalf("SweepExpired = %+v, %v; want %+v (the expired upload; Cancel released its own)", n, err, want)
	}
	if exists(t, s.uploadDir(expired.ID)) {
		t.Errorf("SweepExpired left the expired upload's part files")
	}
	if got := mustRead(t, s, f.ID); got != "used" {
		t.Errorf("file after the sweep holds %q, want %q", got, "used")
	}
	if got := filesUnder(t, s.partsDir); len(got) != 1 {
		t.Errorf("files on disk after the sweep: %v, want only the completed file's part", got)
	}
}

// TestSweepRetriesRelease: an upload whose files could not be removed when it was cancelled is
// released by the next sweep.
func TestSweepRetriesRelease(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	s.stopRemover() // the sweep alone releases here
	u := mustCreate(t, s, 4)
	if _, err := s.Cancel(ctx, owner, u.ID, t0); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	settle(t, s)
	// As if removing the files had failed: files back, upload still marked releasing.
	leftover := filepath.Join(s.uploadDir(u.ID), "part_leftover")
	os.MkdirAll(filepath.Dir(leftover), 0o755)
	if err := os.WriteFile(leftover, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.Exec(`UPDATE uploads SET bytes_state = ? WHERE id = ?`, record.BytesReleasing, u.ID); err != nil {
		t.Fatal(err)
	}
	n, err := s.SweepExpired(ctx, t0)
	if want := (store.SweepResult{Uploads: 1, Bytes: 1}); err != nil || n != want {
		t.Fatalf("SweepExpired = %+v, %v; want %+v", n, err, want)
	}
	if exists(t, leftover) {
		t.Errorf("the sweep left the files of a releasing upload")
	}
	if n, err := s.SweepExpired(ctx, t0); err != nil || n != (store.SweepResult{}) {
		t.Errorf("second SweepExpired = %+v, %v; want nothing", n, err)
	}
}

// TestDamagedPartFailsRead: a part file that does not hold its recorded size makes reading the
// file fail rather than return other content.
func TestDamagedPartFailsRead(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
	}{
		{"truncated", "ab"},
		{"longer", "abcdEXTRA"},
		{"missing", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTemp(t, t.TempDir())
			u := mustCreate(t, s, 8)
			p1, p2 := mustAddPart(t, s, u.ID, "abcd"), mustAddPart(t, s, u.ID, "efgh")
			f := mustComplete(t, s, u.ID, p1.ID, p2.ID)
			path := s.partPath(u.ID, p1.ID)
			if tc.content == "" {
				os.Remove(path)
			} else if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			got, rc, err := s.OpenFile(context.Background(), owner, f.ID, t0)
			if err != nil {
				t.Fatalf("OpenFile: %v", err)
			}
			defer rc.Close()
			if got.Bytes != 8 {
				t.Errorf("size = %d, want the recorded 8", got.Bytes)
			}
			b, err := io.ReadAll(rc)
			if err == nil {
				t.Fatalf("read of a damaged file returned %q and no error", b)
			}
			if tc.name == "truncated" && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error = %v, want io.ErrUnexpectedEOF", err)
			}
		})
	}
}

// TestDeleteFileReleasesBytes: DeleteFile answers once its one transaction is committed, with the
// file's part files still on the disk, its parts' rows gone and its upload marked releasing, and
// wakes the background remover; what the remover does (Settle) removes the files and leaves the
// sweep nothing to count. A sweep that comes before the remover removes them itself and counts
// their bytes, once. The other Files keep every byte.
func TestDeleteFileReleasesBytes(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	s.stopRemover() // the answer is all the test sees before the removal
	keep := mustCreate(t, s, 3)
	kf := mustComplete(t, s, keep.ID, mustAddPart(t, s, keep.ID, "kee").ID)

	for _, tc := range []struct {
		name     string
		remover  bool              // the remover runs (Settle) before the sweep
		sweepGot store.SweepResult // what the sweep then releases
	}{
		{"by the remover", true, store.SweepResult{}},
		// The upload was completed, not expired or cancelled: only its bytes count.
		{"by a sweep first", false, store.SweepResult{Bytes: 6}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := mustCreate(t, s, 6)
			p1, p2 := mustAddPart(t, s, u.ID, "abc"), mustAddPart(t, s, u.ID, "def")
			f := mustComplete(t, s, u.ID, p1.ID, p2.ID)
			drainKick(s)
			if _, err := s.DeleteFile(ctx, owner, f.ID, t0); err != nil {
				t.Fatalf("DeleteFile: %v", err)
			}
			if got := filesUnder(t, s.uploadDir(u.ID)); !sameIDs(got, p1, p2) {
				t.Errorf("after the answer, part files %v, want both still there (removed off the request path)", got)
			}
			if n := partRows(t, s.read, u.ID); n != 0 {
				t.Errorf("after the answer, %d parts recorded, want none", n)
			}
			if st := bytesState(t, s, u.ID); st != record.BytesReleasing {
				t.Errorf("after the answer, bytes state %d, want releasing", st)
			}
			if !woken(s) {
				t.Errorf("DeleteFile did not wake the background remover")
			}
			if _, err := s.GetFile(ctx, owner, f.ID, t0); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetFile after the delete: %v, want ErrNotFound", err)
			}

			if tc.remover {
				settle(t, s)
			}
			if n, err := s.SweepExpired(ctx, t0); err != nil || n != tc.sweepGot {
				t.Errorf("SweepExpired = %+v, %v; want %+v", n, err, tc.sweepGot)
			}
			if exists(t, s.uploadDir(u.ID)) {
				t.Errorf("the deleted file's part files remain: %v", filesUnder(t, s.uploadDir(u.ID)))
			}
			if st := bytesState(t, s, u.ID); st != record.BytesReleased {
				t.Errorf("bytes state at the end = %d, want released", st)
			}
			if n, err := s.SweepExpired(ctx, t0); err != nil || n != (store.SweepResult{}) {
				t.Errorf("second SweepExpired = %+v, %v; want nothing", n, err)
			}
			if got := mustRead(t, s, kf.ID); got != "kee" {
				t.Errorf("the other file holds %q, want %q", got, "kee")
			}
		})
	}
}

// TestCancelRemovesFilesInTheBackground: after a cancel's answer, the background remover removes
// the upload's files and marks its bytes released, without a sweep.
func TestCancelRemovesFilesInTheBackground(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	u := mustCreate(t, s, 4)
	mustAddPart(t, s, u.ID, "gone")
	if _, err := s.Cancel(ctx, owner, u.ID, t0); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for bytesState(t, s, u.ID) != record.BytesReleased {
		if time.Now().After(deadline) {
			t.Fatal("the cancelled upload's bytes were not released in 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if exists(t, s.uploadDir(u.ID)) {
		t.Errorf("the upload is marked released but its part files remain")
	}
}

// TestCancelSurvivesAStopBeforeRemoval: a store that stops after a cancel's commit, before its
// files were removed, has the cancel (durable in the database) and the mark that the files are
// to go; the first sweep after reopening removes them.
func TestCancelSurvivesAStopBeforeRemoval(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	s.stopRemover() // as if the process stopped right after the commit
	u := mustCreate(t, s, 4)
	mustAddPart(t, s, u.ID, "left")
	if _, err := s.Cancel(ctx, owner, u.ID, t0); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTemp(t, dir)
	got, err := s.GetUpload(ctx, owner, u.ID, t0)
	if err != nil || got.Status != "cancelled" {
		t.Fatalf("after reopening the upload is %+v (%v), want cancelled", got, err)
	}
	if st := bytesState(t, s, u.ID); st == record.BytesLive {
		t.Fatalf("after reopening the cancelled upload's bytes are live, want releasing or released")
	}
	// Open removed the files no part row owns; the sweep (or the remover, first) marks the
	// upload released.
	if n, err := s.SweepExpired(ctx, t0); err != nil || n.Uploads > 1 || n.Bytes != 0 || n.Files != 0 {
		t.Fatalf("SweepExpired = %+v, %v; want at most the one upload and no byte (Open removed them)", n, err)
	}
	if exists(t, s.uploadDir(u.ID)) {
		t.Errorf("the cancelled upload's part files remain after a sweep")
	}
	if st := bytesState(t, s, u.ID); st != record.BytesReleased {
		t.Errorf("bytes state after the sweep = %d, want released", st)
	}
}

// bytesState reads an upload's bytes_state.
func bytesState(t *testing.T, s *Store, uploadID string) int {
	t.Helper()
	var st int
	if err := s.read.QueryRow(`SELECT bytes_state FROM uploads WHERE id = ?`, uploadID).Scan(&st); err != nil {
		t.Fatalf("read bytes_state: %v", err)
	}
	return st
}

// settle does now what the background remover would do soon: release the bytes of every upload
// marked releasing, so that a test sees the state after it.
func settle(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Settle(context.Background()); err != nil {
		t.Fatalf("release: %v", err)
	}
}

// TestCompleteRemovesLeftOutPartsOffTheRequestPath: a completion answers before the files of the
// parts it left out are removed, with those parts listed for removal in its transaction; the
// remover (here, the sweep standing in for it) removes them, counts their bytes once, and leaves
// every byte of the File.
func TestCompleteRemovesLeftOutPartsOffTheRequestPath(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	s.stopRemover() // the answer is all the test sees before the removal
	u := mustCreate(t, s, 8)
	p1, extra, p2, more := mustAddPart(t, s, u.ID, "used"), mustAddPart(t, s, u.ID, "extra!"),
		mustAddPart(t, s, u.ID, "also"), mustAddPart(t, s, u.ID, "more")
	f := mustComplete(t, s, u.ID, p2.ID, p1.ID)
	for _, p := range []store.Part{extra, more} {
		if !exists(t, s.partPath(u.ID, p.ID)) {
			t.Errorf("the completion removed left-out part %s on the request path", p.ID)
		}
	}
	if n := toRemove(t, s); n != 2 {
		t.Fatalf("%d parts listed for removal after the completion, want the 2 left out", n)
	}
	if got := mustRead(t, s, f.ID); got != "alsoused" {
		t.Fatalf("file holds %q, want %q", got, "alsoused")
	}

	if n, err := s.SweepExpired(ctx, t0); err != nil || n != (store.SweepResult{Bytes: 10}) {
		t.Fatalf("SweepExpired = %+v, %v; want the 10 bytes of the two left-out parts", n, err)
	}
	if got := filesUnder(t, s.uploadDir(u.ID)); !slices.Equal(got, sortedIDs(p1, p2)) {
		t.Errorf("part files after the removal: %v, want only the file's two parts", got)
	}
	if n := toRemove(t, s); n != 0 {
		t.Errorf("%d parts still listed for removal", n)
	}
	if n, err := s.SweepExpired(ctx, t0); err != nil || n != (store.SweepResult{}) {
		t.Errorf("second SweepExpired = %+v, %v; want nothing", n, err)
	}
	if got := mustRead(t, s, f.ID); got != "alsoused" {
		t.Errorf("file after the removal holds %q, want %q", got, "alsoused")
	}
	if st := bytesState(t, s, u.ID); st != record.BytesLive {
		t.Errorf("bytes state of the completed upload = %d, want live (its file uses its parts)", st)
	}
}

// TestCompleteSurvivesAStopBeforeRemoval: a store that stops after a completion's commit, before
// the left-out parts' files were removed, has the completion whole; Open removes the files, which
// no part row owns, and the next sweep forgets them (counting no byte: Open freed them).
func TestCompleteSurvivesAStopBeforeRemoval(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	s.stopRemover() // as if the process stopped right after the commit
	u := mustCreate(t, s, 4)
	used, unused := mustAddPart(t, s, u.ID, "kept"), mustAddPart(t, s, u.ID, "dropped")
	f := mustComplete(t, s, u.ID, used.ID)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTemp(t, dir)
	if exists(t, s.partPath(u.ID, unused.ID)) {
		t.Errorf("after reopening, the left-out part's file remains")
	}
	if got := mustRead(t, s, f.ID); got != "kept" {
		t.Fatalf("after reopening, the file holds %q, want %q", got, "kept")
	}
	if n, err := s.SweepExpired(ctx, t0); err != nil || n != (store.SweepResult{}) {
		t.Fatalf("SweepExpired = %+v, %v; want nothing counted (Open removed the file)", n, err)
	}
	if n := toRemove(t, s); n != 0 {
		t.Errorf("%d parts still listed for removal after the sweep", n)
	}
	if got := mustRead(t, s, f.ID); got != "kept" {
		t.Errorf("after the sweep, the file holds %q, want %q", got, "kept")
	}
}

// toRemove counts the parts listed for removal.
func toRemove(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.read.QueryRow(`SELECT COUNT(*) FROM parts_to_remove`).Scan(&n); err != nil {
		t.Fatalf("count parts to remove: %v", err)
	}
	return n
}

// sortedIDs is the ids of parts, sorted.
func sortedIDs(parts ...store.Part) []string {
	ids := make([]string, len(parts))
	for i, p := range parts {
		ids[i] = p.ID
	}
	slices.Sort(ids)
	return ids
}
