package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// testExpiry: an upload is pending until the second before ExpiresAt, and expired from then on,
// for reads, parts and completion; expiry itself is not stored.
func testExpiry(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := createUpload(t, s, alice, 4, t0)
	if u.ExpiresAt != t0+3600 {
		t.Fatalf("test upload expires at %d, want %d", u.ExpiresAt, t0+3600)
	}
	last := u.ExpiresAt - 1
	p := addPart(t, s, alice, u.ID, "abcd", last)

	for now, want := range map[int64]store.Status{t0: store.StatusPending, last: store.StatusPending,
		u.ExpiresAt: store.StatusExpired, u.ExpiresAt + 86400: store.StatusExpired} {
		if got := getUpload(t, s, u.ID, now).Status; got != want {
			t.Errorf("GetUpload at %d: status %s, want %s", now, got, want)
		}
	}

	_, err := s.AddPart(ctx, alice, u.ID, newPartID(),
		strings.NewReader("x"), store.Limits{MaxPart: MaxPartSize}, store.At(u.ExpiresAt))
	wantStateError(t, err, u.ID, store.StatusExpired)
	_, _, err = s.Complete(ctx, alice, u.ID, []string{p.ID}, "", newFileID(), store.At(u.ExpiresAt))
	wantStateError(t, err, u.ID, store.StatusExpired)
	_, err = s.Cancel(ctx, alice, u.ID, u.ExpiresAt)
	wantStateError(t, err, u.ID, store.StatusExpired)

	// Still pending a second earlier: nothing above changed it.
	_, f := complete(t, s, u.ID, []string{p.ID}, last)
	if got := readFile(t, s, alice, f.ID); got != "abcd" {
		t.Errorf("file content = %q, want %q", got, "abcd")
	}
	// A completed upload does not expire.
	if got := getUpload(t, s, u.ID, u.ExpiresAt+86400).Status; got != store.StatusCompleted {
		t.Errorf("completed upload, a day after expires_at: status %s, want completed", got)
	}
}

// testSweepExpired: the sweeper releases cancelled and expired uploads, leaves pending and
// completed ones whole, a released upload can never be completed, and the sweep counts exactly
// what it released: not what a cancel or a completion released before it.
func testSweepExpired(t *testing.T, s store.Store) {
	ctx := context.Background()
	expired, expiredParts := uploadWithParts(t, s, t0-3600, "old ", "bytes")
	empty := createUpload(t, s, alice, 3, t0-3600) // expires with no part
	cancelled, _ := uploadWithParts(t, s, t0-3600, "gone")
	if _, err := s.Cancel(ctx, alice, cancelled.ID, t0-3600); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	done, doneParts := uploadWithParts(t, s, t0-3600, "kept ", "file")
	spare := addPart(t, s, alice, done.ID, "spare", t0-3600) // left out of the file
	_, f := complete(t, s, done.ID, doneParts, t0-3600)
	live, liveParts := uploadWithParts(t, s, t0, "still ", "pending")
	// The cancel and the completion release their own bytes (or have them released in the
	// background): the sweep must not count them again.
	settle(t, s)

	sweep(t, s, t0, store.SweepResult{Uploads: 2, Bytes: int64(len("old bytes"))})
	sweep(t, s, t0, store.SweepResult{})

	if got := getUpload(t, s, expired.ID, t0).Status; got != store.StatusExpired {
		t.Errorf("swept expired upload reads as %s, want expired", got)
	}
	if got := getUpload(t, s, empty.ID, t0).Status; got != store.StatusExpired {
		t.Errorf("swept expired upload without parts reads as %s, want expired", got)
	}
	if got := getUpload(t, s, cancelled.ID, t0).Status; got != store.StatusCancelled {
		t.Errorf("swept cancelled upload reads as %s, want cancelled", got)
	}
	// Released is released, even for a caller whose clock says the upload has not expired yet.
	early := expired.ExpiresAt - 10
	_, _, err := s.Complete(ctx, alice, expired.ID, expiredParts, "", newFileID(), store.At(early))
	wantStateError(t, err, expired.ID, store.StatusExpired)
	_, err = s.AddPart(ctx, alice, expired.ID, newPartID(), strings.NewReader("x"), store.Limits{MaxPart: MaxPartSize}, store.At(early))
	wantStateError(t, err, expired.ID, store.StatusExpired)

	if got := readFile(t, s, alice, f.ID); got != "kept file" {
		t.Errorf("completed file after a sweep holds %q, want %q", got, "kept file")
	}
	_, _, err = s.Complete(ctx, alice, done.ID, []string{spare.ID}, "", newFileID(), store.At(t0))
	wantStateError(t, err, done.ID, store.StatusCompleted)
	_, lf := complete(t, s, live.ID, liveParts, t0)
	if got := readFile(t, s, alice, lf.ID); got != "still pending" {
		t.Errorf("file of an upload pending during the sweep holds %q, want %q", got, "still pending")
	}
}
