package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/store"
)

func testCreateAndGet(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := newUpload(alice, 2048, t0)
	u.FileExpiresAfter = 86400
	if err := s.CreateUpload(ctx, u); err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	if got := getUpload(t, s, u.ID, t0); got != u {
		t.Errorf("GetUpload = %+v, want %+v", got, u)
	}
	if err := s.CreateUpload(ctx, u); err == nil {
		t.Errorf("CreateUpload with an id already used: no error")
	}
	if got := getUpload(t, s, u.ID, t0); got != u {
		t.Errorf("after a refused duplicate create, GetUpload = %+v, want %+v", got, u)
	}
	_, err := s.GetUpload(ctx, alice, newUploadID(), t0)
	wantErrorIs(t, err, store.ErrNotFound)
	_, err = s.GetFile(ctx, alice, newFileID(), t0)
	wantErrorIs(t, err, store.ErrNotFound)
	_, _, err = s.OpenFile(ctx, alice, newFileID(), t0)
	wantErrorIs(t, err, store.ErrNotFound)
}

// testOwnerIsolation: another owner sees nothing of alice's, and can change nothing.
func testOwnerIsolation(t *testing.T, s store.Store) {
	ctx := context.Background()
	done, doneParts := uploadWithParts(t, s, t0, "hello")
	_, f := complete(t, s, done.ID, doneParts, t0)
	u, parts := uploadWithParts(t, s, t0, "abc")

	calls := []struct {
		name string
		call func() error
	}{
		{"GetUpload", func() error { _, err := s.GetUpload(ctx, bob, u.ID, t0); return err }},
		{"AddPart", func() error {
			_, err := s.AddPart(ctx, bob, u.ID, newPartID(), strings.NewReader("x"), store.Limits{MaxPart: MaxPartSize}, store.At(t0))
			return err
		}},
		{"Complete", func() error {
			_, _, err := s.Complete(ctx, bob, u.ID, parts, "", newFileID(), store.At(t0))
			return err
		}},
		{"Cancel", func() error { _, err := s.Cancel(ctx, bob, u.ID, t0); return err }},
		{"GetFile", func() error { _, err := s.GetFile(ctx, bob, f.ID, t0); return err }},
		{"OpenFile", func() error { _, _, err := s.OpenFile(ctx, bob, f.ID, t0); return err }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) { wantErrorIs(t, c.call(), store.ErrNotFound) })
	}
	if got := getUpload(t, s, u.ID, t0); got != u {
		t.Errorf("after another owner's calls, GetUpload = %+v, want %+v", got, u)
	}
	// The part bob tried to add is not there: completing with alice's part alone still adds up.
	complete(t, s, u.ID, parts, t0)
	if got := readFile(t, s, alice, f.ID); got != "hello" {
		t.Errorf("file content = %q, want %q", got, "hello")
	}
}

// testOnlyStatusChanges: completing or cancelling changes the status (and, for completion, links
// the file), nothing else.
func testOnlyStatusChanges(t *testing.T, s store.Store) {
	ctx := context.Background()
	u, parts := uploadWithParts(t, s, t0, "abc", "de")
	got, f := complete(t, s, u.ID, parts, t0+10)
	want := u
	want.Status, want.FileID = store.StatusCompleted, f.ID
	if got != want {
		t.Errorf("Complete returned %+v, want %+v", got, want)
	}
	if stored := getUpload(t, s, u.ID, t0); stored != want {
		t.Errorf("after Complete, GetUpload = %+v, want %+v", stored, want)
	}

	c := createUpload(t, s, alice, 10, t0)
	addPart(t, s, alice, c.ID, "0123456789", t0+1)
	cancelled, err := s.Cancel(ctx, alice, c.ID, t0+20)
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	wantC := c
	wantC.Status = store.StatusCancelled
	if cancelled != wantC {
		t.Errorf("Cancel returned %+v, want %+v", cancelled, wantC)
	}
	if stored := getUpload(t, s, c.ID, t0); stored != wantC {
		t.Errorf("after Cancel, GetUpload = %+v, want %+v", stored, wantC)
	}
}
