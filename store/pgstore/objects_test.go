package pgstore_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/pgstore"
	"github.com/uploadkit/uploads/store/pgstore/pgstoretest"
)

// TestPartObjects: each part is one object; a refused part leaves no object, no note and no
// unfinished S3 multipart upload behind, on both the small-part path (one PUT from memory) and
// the streaming path (above 8 MiB).
func TestPartObjects(t *testing.T) {
	const big = 9 << 20 // above the in-memory threshold
	tests := []struct {
		name    string
		size    int
		maxSize int64
		wantErr error
	}{
		{"small", 5, 10, nil},
		{"empty", 0, 10, nil},
		{"small at the limit", 10, 10, nil},
		{"small over the limit", 11, 10, store.ErrPartTooLarge},
		{"one chunk exactly", 8 << 20, big, nil},
		{"one chunk and a byte", 8<<20 + 1, big, nil},
		{"two chunks exactly", 16 << 20, 16 << 20, nil},
		{"streamed", big, big, nil},
		{"streamed over the limit", big + 1, big, store.ErrPartTooLarge},
		{"over a limit below the threshold", big, 1 << 20, store.ErrPartTooLarge},
	}
	cfg := pgstoretest.Config(t)
	s := pgstoretest.OpenWith(t, cfg)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := createUpload(t, s, int64(tc.size))
			data := bytes.Repeat([]byte("0123456789abcdef"), tc.size/16+1)[:tc.size]
			p, err := s.AddPart(context.Background(), owner, u.ID, newPartID(),
				bytes.NewReader(data), store.Limits{MaxPart: tc.maxSize}, store.At(t0))
			objects := partObjects(pgstoretest.ObjectKeys(t, cfg), u.ID)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("AddPart: %v, want %v", err, tc.wantErr)
				}
				if len(objects) != 0 {
					t.Errorf("refused part left objects %v", objects)
				}
				if n := pgstoretest.IncompleteMultipartUploads(t, cfg); n != 0 {
					t.Errorf("refused part left %d unfinished multipart uploads", n)
				}
				if n := pgstoretest.QueryInt(t, cfg, `SELECT COUNT(*) FROM part_writes WHERE upload_id = $1`, u.ID); n != 0 {
					t.Errorf("refused part left %d notes of writes", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("AddPart: %v", err)
			}
			if p.Size != int64(tc.size) {
				t.Errorf("part size %d, want %d", p.Size, tc.size)
			}
			if len(objects) != 1 || !strings.HasPrefix(objects[0], "parts/"+u.ID+"/"+p.ID+".") {
				t.Errorf("objects of the upload: %v, want one named after part %s", objects, p.ID)
			}
			sum := md5.Sum(data)
			f := complete(t, s, u.ID, []string{p.ID}, hex.EncodeToString(sum[:]))
			if got := readFile(t, s, f.ID); !bytes.Equal(got, data) {
				t.Errorf("file content differs from the part (%d bytes, want %d)", len(got), len(data))
			}
		})
	}
}

// TestReusedPartIDKeepsTheFirstBytes: a second part with an id already recorded is refused and
// cannot overwrite the first part's bytes.
func TestReusedPartIDKeepsTheFirstBytes(t *testing.T) {
	cfg := pgstoretest.Config(t)
	s := pgstoretest.OpenWith(t, cfg)
	u := createUpload(t, s, 5)
	p := addPart(t, s, u.ID, []byte("first"), 100)
	_, err := s.AddPart(context.Background(), owner, u.ID, p.ID, strings.NewReader("other"), store.Limits{MaxPart: 100}, store.At(t0))
	if err == nil {
		t.Fatal("AddPart with a reused id succeeded")
	}
	if objects := partObjects(pgstoretest.ObjectKeys(t, cfg), u.ID); len(objects) != 1 {
		t.Errorf("objects after the refused part: %v, want only the first part's", objects)
	}
	f := complete(t, s, u.ID, []string{p.ID}, "")
	if got := string(readFile(t, s, f.ID)); got != "first" {
		t.Errorf("file holds %q, want %q", got, "first")
	}
}

// TestFinishedUploadsReleaseObjects: cancel deletes every part object of the upload; complete
// deletes those of parts the file leaves out and keeps the others.
func TestFinishedUploadsReleaseObjects(t *testing.T) {
	cfg := pgstoretest.Config(t)
	s := pgstoretest.OpenWith(t, cfg)
	ctx := context.Background()

	cancelled := createUpload(t, s, 6)
	addPart(t, s, cancelled.ID, []byte("abc"), 100)
	addPart(t, s, cancelled.ID, []byte("def"), 100)
	if _, err := s.Cancel(ctx, owner, cancelled.ID, t0); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if objects := partObjects(pgstoretest.ObjectKeys(t, cfg), cancelled.ID); len(objects) != 0 {
		t.Errorf("cancelled upload keeps objects %v", objects)
	}

	done := createUpload(t, s, 6)
	kept1 := addPart(t, s, done.ID, []byte("abc"), 100)
	addPart(t, s, done.ID, []byte("unused"), 100)
	kept2 := addPart(t, s, done.ID, []byte("def"), 100)
	f := complete(t, s, done.ID, []string{kept2.ID, kept1.ID}, "")
	if err := s.Settle(ctx); err != nil { // what the background remover does after the answer
		t.Fatalf("Settle: %v", err)
	}
	objects := partObjects(pgstoretest.ObjectKeys(t, cfg), done.ID)
	if len(objects) != 2 {
		t.Errorf("completed upload keeps objects %v, want the two its file uses", objects)
	}
	if got := string(readFile(t, s, f.ID)); got != "defabc" {
		t.Errorf("file holds %q, want %q", got, "defabc")
	}
	if n, err := s.SweepExpired(ctx, t0+7200); err != nil || n != (store.SweepResult{}) {
		t.Errorf("SweepExpired after cancel and complete released everything = %+v, %v; want nothing", n, err)
	}
	if got := string(readFile(t, s, f.ID)); got != "defabc" {
		t.Errorf("file after a sweep holds %q, want %q", got, "defabc")
	}

	if _, err := s.DeleteFile(ctx, owner, f.ID, t0); err != nil {
		t.Fatalf("DeleteFile: %v", err)
	}
	if objects := partObjects(pgstoretest.ObjectKeys(t, cfg), done.ID); len(objects) != 0 {
		t.Errorf("deleted file keeps objects %v", objects)
	}
}

// TestCompleteReleasesLeftOutPartsOffTheRequestPath: a completion answers before the objects of
// the parts it left out are deleted; if the process stops then, the sweeper deletes them and
// counts their bytes once, and the File keeps every byte.
func TestCompleteReleasesLeftOutPartsOffTheRequestPath(t *testing.T) {
	cfg := pgstoretest.Config(t)
	s := pgstoretest.OpenWith(t, cfg)
	ctx := context.Background()
	pgstore.StopRemover(s) // as if the process stopped right after the commit

	u := createUpload(t, s, 6)
	kept1 := addPart(t, s, u.ID, []byte("abc"), 100)
	addPart(t, s, u.ID, []byte("unused"), 100)
	addPart(t, s, u.ID, []byte("spare"), 100)
	kept2 := addPart(t, s, u.ID, []byte("def"), 100)
	f := complete(t, s, u.ID, []string{kept2.ID, kept1.ID}, "")
	if objects := partObjects(pgstoretest.ObjectKeys(t, cfg), u.ID); len(objects) != 4 {
		t.Fatalf("objects right after the completion: %v, want all 4 (the left-out ones go after the answer)", objects)
	}
	if got := string(readFile(t, s, f.ID)); got != "defabc" {
		t.Fatalf("file holds %q, want %q", got, "defabc")
	}

	if n, err := s.SweepExpired(ctx, t0); err != nil || n != (store.SweepResult{Bytes: 11}) {
		t.Fatalf("SweepExpired = %+v, %v; want the 11 bytes of the two left-out parts", n, err)
	}
	if objects := partObjects(pgstoretest.ObjectKeys(t, cfg), u.ID); len(objects) != 2 {
		t.Errorf("objects after the sweep: %v, want the file's 2", objects)
	}
	if n, err := s.SweepExpired(ctx, t0); err != nil || n != (store.SweepResult{}) {
		t.Errorf("second SweepExpired = %+v, %v; want nothing", n, err)
	}
	if err := s.Settle(ctx); err != nil { // the queued release finds nothing left
		t.Fatalf("Settle: %v", err)
	}
	if got := string(readFile(t, s, f.ID)); got != "defabc" {
		t.Errorf("file after the sweep holds %q, want %q", got, "defabc")
	}
	if n := pgstoretest.QueryInt(t, cfg, `SELECT bytes_state FROM uploads WHERE id = $1`, u.ID); n != 2 {
		t.Errorf("bytes state of the completed upload = %d, want 2 (released)", n)
	}
}

// TestReleaseKeepsAFileDeletedMeanwhile: a release of a completion's left-out parts that runs while
// the file is deleted leaves the upload releasing, so that the file's parts are released too.
func TestReleaseKeepsAFileDeletedMeanwhile(t *testing.T) {
	cfg := pgstoretest.Config(t)
	s := pgstoretest.OpenWith(t, cfg)
	ctx := context.Background()
	pgstore.StopRemover(s)

	u := createUpload(t, s, 3)
	kept := addPart(t, s, u.ID, []byte("abc"), 100)
	left := addPart(t, s, u.ID, []byte("left"), 100)
	f := complete(t, s, u.ID, []string{kept.ID}, "")
	// What DeleteFile commits, before its own release: the file's parts become releasable.
	pgstoretest.Exec(t, cfg, fmt.Sprintf(`UPDATE files SET deleted_at = %d WHERE id = '%s'`, t0, f.ID))
	pgstoretest.Exec(t, cfg, fmt.Sprintf(`DELETE FROM file_parts WHERE file_id = '%s'`, f.ID))
	// The remover's release lists only the left-out part, as it would have before the delete.
	if err := pgstore.ReleaseOnly(ctx, s, u.ID, left.ID); err != nil {
		t.Fatalf("release: %v", err)
	}
	if n := pgstoretest.QueryInt(t, cfg, `SELECT bytes_state FROM uploads WHERE id = $1`, u.ID); n != 1 {
		t.Fatalf("bytes state after a release that left the deleted file's part = %d, want 1 (releasing)", n)
	}
	if n, err := s.SweepExpired(ctx, t0); err != nil || n != (store.SweepResult{Bytes: 3}) {
		t.Fatalf("SweepExpired = %+v, %v; want the deleted file's 3 bytes", n, err)
	}
	if objects := partObjects(pgstoretest.ObjectKeys(t, cfg), u.ID); len(objects) != 0 {
		t.Errorf("objects after the sweep: %v, want none", objects)
	}
}

// TestSweepFinishesDeletes: a delete whose process died after its transaction committed, before
// the objects were deleted, is finished by the sweeper.
func TestSweepFinishesDeletes(t *testing.T) {
	cfg := pgstoretest.Config(t)
	s := pgstoretest.OpenWith(t, cfg)
	u := createUpload(t, s, 3)
	f := complete(t, s, u.ID, []string{addPart(t, s, u.ID, []byte("xyz"), 100).ID}, "")
	// What DeleteFile commits before it deletes the objects.
	pgstoretest.Exec(t, cfg, fmt.Sprintf(`UPDATE files SET deleted_at = %d WHERE id = '%s'`, t0, f.ID))
	pgstoretest.Exec(t, cfg, fmt.Sprintf(`DELETE FROM file_parts WHERE file_id = '%s'`, f.ID))
	pgstoretest.Exec(t, cfg, fmt.Sprintf(`UPDATE uploads SET bytes_state = 1 WHERE id = '%s'`, u.ID))
	if objects := partObjects(pgstoretest.ObjectKeys(t, cfg), u.ID); len(objects) != 1 {
		t.Fatalf("before the sweep, objects %v, want the file's one", objects)
	}
	// The upload was completed, not expired or cancelled: only the file's bytes count.
	if n, err := s.SweepExpired(context.Background(), t0); err != nil || n != (store.SweepResult{Bytes: 3}) {
		t.Fatalf("SweepExpired = %+v, %v; want the 3 bytes of the deleted file", n, err)
	}
	if objects := partObjects(pgstoretest.ObjectKeys(t, cfg), u.ID); len(objects) != 0 {
		t.Errorf("after the sweep, the deleted file keeps objects %v", objects)
	}
}

// TestSweepDeletesObjectsOfUnfinishedWrites: an object whose writer died before recording it is
// kept while its upload could still record it, and deleted once it cannot.
func TestSweepDeletesObjectsOfUnfinishedWrites(t *testing.T) {
	cfg := pgstoretest.Config(t)
	s := pgstoretest.OpenWith(t, cfg)
	ctx := context.Background()
	u := createUpload(t, s, 4)
	recorded := addPart(t, s, u.ID, []byte("live"), 100)
	key := "parts/" + u.ID + "/part_crashed.0000000000000000"
	pgstoretest.PutObject(t, cfg, key, []byte("orphan"))
	pgstoretest.Exec(t, cfg, `INSERT INTO part_writes (object_key, upload_id, started_at) VALUES ($1, $2, $3)`,
		cfg.S3Prefix+key, u.ID, t0)

	if _, err := s.SweepExpired(ctx, t0+60); err != nil {
		t.Fatalf("SweepExpired: %v", err)
	}
	if objects := partObjects(pgstoretest.ObjectKeys(t, cfg), u.ID); len(objects) != 2 {
		t.Fatalf("objects after a sweep while the write may still be running: %v, want 2", objects)
	}

	// The recorded part's 4 bytes count; the unfinished write's object, whose size was never
	// recorded, does not.
	if n, err := s.SweepExpired(ctx, u.ExpiresAt); err != nil || n != (store.SweepResult{Uploads: 1, Bytes: 4}) {
		t.Fatalf("SweepExpired = %+v, %v; want the expired upload and its 4 recorded bytes", n, err)
	}
	if objects := partObjects(pgstoretest.ObjectKeys(t, cfg), u.ID); len(objects) != 0 {
		t.Errorf("objects after the upload expired and was swept: %v, want none", objects)
	}
	if n := pgstoretest.QueryInt(t, cfg, `SELECT COUNT(*) FROM part_writes`); n != 0 {
		t.Errorf("%d notes of writes remain", n)
	}
	_, _, err := s.Complete(ctx, owner, u.ID, []string{recorded.ID}, "", newFileID(), store.At(t0))
	var se *store.StateError
	if !errors.As(err, &se) || se.Status != store.StatusExpired {
		t.Errorf("Complete after the sweep: %v, want a StateError (expired)", err)
	}
}
