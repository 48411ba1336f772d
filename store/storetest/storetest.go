// Package storetest is the behavioural suite every store.Store must pass. A backend's own tests
// call Run with a function that opens a new, empty store of that backend.
package storetest

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// MaxPartSize is the part size limit the suite passes to AddPart: small, so tests stay fast.
const MaxPartSize = 1024

// t0 is the suite's clock at the start of each test, in Unix seconds. Every operation is given
// its time explicitly, so no test waits for anything.
const t0 int64 = 1_700_000_000

// Run runs the suite. open returns a new, empty store that nothing else uses, and arranges for it
// to be closed when t ends (with t.Cleanup).
//
// A store that finishes some releases of bytes in the background after answering (a cancel's, a
// file deletion's, or those of the parts a completion left out) implements Settler, so that the
// suite can count exactly what a sweep then releases; a store that releases everything before
// answering need not.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"CreateAndGet", testCreateAndGet},
		{"OwnerIsolation", testOwnerIsolation},
		{"PartSizeLimit", testPartSizeLimit},
		{"PartsOnlyWhilePending", testPartsOnlyWhilePending},
		{"ConcurrentParts", testConcurrentParts},
		{"CompleteCheckOrder", testCompleteCheckOrder},
		{"ContentInPartIDsOrder", testContentInPartIDsOrder},
		{"CompletedFileFields", testCompletedFileFields},
		{"Cancel", testCancel},
		{"CancelCompleteRace", testCancelCompleteRace},
		{"Expiry", testExpiry},
		{"SweepExpired", testSweepExpired},
		{"OnlyStatusChanges", testOnlyStatusChanges},
		{"PartWriteRacesFinish", testPartWriteRacesFinish},
		{"FinishedUploadReadsNoPart", testFinishedUploadReadsNoPart},
		{"MD5AnyCase", testMD5AnyCase},
		{"UploadLimit", testUploadLimit},
		{"Quota", testQuota},
		{"ExpiryAtCommit", testExpiryAtCommit},
		{"ListFiles", testListFiles},
		{"ListFilesStable", testListFilesStable},
		{"DeleteFile", testDeleteFile},
		{"FileExpiry", testFileExpiry},
		{"DeleteFreesQuota", testDeleteFreesQuota},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, open(t))
		})
	}
}

// Settler is implemented by a store that releases bytes in the background. Settle releases now
// what was left to the background, so that a test sees the state that follows.
type Settler interface {
	Settle(ctx context.Context) error
}

// settle has s release now what it left to the background, if it does.
func settle(t *testing.T, s store.Store) {
	t.Helper()
	if st, ok := s.(Settler); ok {
		if err := st.Settle(context.Background()); err != nil {
			t.Fatalf("Settle: %v", err)
		}
	}
}

// sweep runs SweepExpired at now and checks that it released exactly want.
func sweep(t *testing.T, s store.Store, now int64, want store.SweepResult) {
	t.Helper()
	got, err := s.SweepExpired(context.Background(), now)
	if err != nil {
		t.Fatalf("SweepExpired at %d: %v", now, err)
	}
	if got != want {
		t.Errorf("SweepExpired at %d = %+v, want %+v", now, got, want)
	}
}

// Owners used by the suite: opaque strings, as the store sees them.
const (
	alice = "owner-alice"
	bob   = "owner-bob"
)

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newUploadID() string { return "upload_" + randomHex(16) }
func newPartID() string   { return "part_" + randomHex(16) }
func newFileID() string   { return "file-" + randomHex(11) }

// newUpload builds a pending upload of owner declaring size bytes, created at now.
func newUpload(owner string, size, now int64) store.Upload {
	return store.Upload{
		ID:        newUploadID(),
		Owner:     owner,
		Filename:  "data.jsonl",
		Purpose:   "batch",
		MIMEType:  "application/jsonl",
		Bytes:     size,
		CreatedAt: now,
		ExpiresAt: now + 3600,
		Status:    store.StatusPending,
	}
}

// createUpload records a new pending upload of owner declaring size bytes, created at now.
func createUpload(t *testing.T, s store.Store, owner string, size, now int64) store.Upload {
	t.Helper()
	u := newUpload(owner, size, now)
	if err := s.CreateUpload(context.Background(), u); err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	return u
}

// addPart adds a part holding data to an upload, at now, and fails the test if it is refused.
func addPart(t *testing.T, s store.Store, owner, uploadID, data string, now int64) store.Part {
	t.Helper()
	p, err := s.AddPart(context.Background(), owner, uploadID, newPartID(),
		strings.NewReader(data), store.Limits{MaxPart: MaxPartSize}, store.At(now))
	if err != nil {
		t.Fatalf("AddPart(%q): %v", data, err)
	}
	return p
}

// uploadWithParts creates an upload of alice holding the given parts, in that order, and returns
// it with the parts' ids.
func uploadWithParts(t *testing.T, s store.Store, now int64, parts ...string) (store.Upload, []string) {
	t.Helper()
	u := createUpload(t, s, alice, int64(len(strings.Join(parts, ""))), now)
	ids := make([]string, len(parts))
	for i, data := range parts {
		ids[i] = addPart(t, s, alice, u.ID, data, now).ID
	}
	return u, ids
}

// complete completes an upload of alice and fails the test if it is refused.
func complete(t *testing.T, s store.Store, uploadID string, partIDs []string, now int64) (store.Upload, store.File) {
	t.Helper()
	u, f, err := s.Complete(context.Background(), alice, uploadID, partIDs, "", newFileID(), store.At(now))
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	return u, f
}

// readFile returns the content of a file at t0 and checks the size OpenFile reports against it.
func readFile(t *testing.T, s store.Store, owner, fileID string) string {
	t.Helper()
	f, rc, err := s.OpenFile(context.Background(), owner, fileID, t0)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	size := f.Bytes
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read file %s: %v", fileID, err)
	}
	if int64(len(b)) != size {
		t.Errorf("OpenFile size = %d, but the content holds %d bytes", size, len(b))
	}
	return string(b)
}

// getUpload reads an upload of alice, with its status at now.
func getUpload(t *testing.T, s store.Store, uploadID string, now int64) store.Upload {
	t.Helper()
	u, err := s.GetUpload(context.Background(), alice, uploadID, now)
	if err != nil {
		t.Fatalf("GetUpload: %v", err)
	}
	return u
}

// md5Hex is the hex MD5 of s.
func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// wantStateError checks that err is a *store.StateError saying the upload has status want.
func wantStateError(t *testing.T, err error, uploadID string, want store.Status) {
	t.Helper()
	var se *store.StateError
	if !errors.As(err, &se) {
		t.Fatalf("error = %v, want a *store.StateError with status %s", err, want)
	}
	if se.Status != want || se.UploadID != uploadID {
		t.Fatalf("StateError = %+v, want upload %s with status %s", se, uploadID, want)
	}
}

// wantErrorIs checks that err matches target.
func wantErrorIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}
