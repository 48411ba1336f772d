package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// makeFile creates, fills and completes an upload of owner with purpose at createdAt, whose file
// expires expiresAfter seconds after it is created (never, for 0), and returns the file.
func makeFile(t *testing.T, s store.Store, owner, purpose string, createdAt, expiresAfter int64) store.File {
	t.Helper()
	ctx := context.Background()
	u := newUpload(owner, 3, createdAt)
	u.Purpose, u.FileExpiresAfter = purpose, expiresAfter
	if err := s.CreateUpload(ctx, u); err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	p := addPart(t, s, owner, u.ID, "abc", createdAt)
	_, f, err := s.Complete(ctx, owner, u.ID, []string{p.ID}, "", newFileID(), store.At(createdAt))
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	return f
}

// listAll lists every file of owner that q selects, at now, page by page as a client would, and
// returns their ids.
func listAll(t *testing.T, s store.Store, owner string, q store.FileQuery, now int64) []string {
	t.Helper()
	var ids []string
	for range 1000 {
		page, more, err := s.ListFiles(context.Background(), owner, q, now)
		if err != nil {
			t.Fatalf("ListFiles(%+v): %v", q, err)
		}
		if len(page) > q.Limit {
			t.Fatalf("ListFiles(%+v) returned %d files, more than the limit", q, len(page))
		}
		for _, f := range page {
			ids = append(ids, f.ID)
		}
		if !more {
			return ids
		}
		if len(page) == 0 {
			t.Fatalf("ListFiles(%+v): an empty page says more follow", q)
		}
		q.After = page[len(page)-1].ID
	}
	t.Fatalf("ListFiles(%+v) never ends", q)
	return nil
}

// sortedIDs orders files as ListFiles must: by CreatedAt, then ID, ascending or descending.
func sortedIDs(files []store.File, desc bool) []string {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b store.File) int {
		c := a.CreatedAt - b.CreatedAt
		if c == 0 {
			if a.ID < b.ID {
				c = -1
			} else {
				c = 1
			}
		}
		if desc {
			c = -c
		}
		if c < 0 {
			return -1
		}
		return 1
	})
	ids := make([]string, len(files))
	for i, f := range files {
		ids[i] = f.ID
	}
	return ids
}

// testListFiles: both orders, ties in created_at broken by id, the purpose filter, every page
// size, and only the owner's files.
func testListFiles(t *testing.T, s store.Store) {
	var all, batch []store.File
	for i, c := range []struct {
		purpose string
		at      int64
	}{{"batch", t0}, {"fine-tune", t0}, {"batch", t0}, {"batch", t0 + 1}, {"assistants", t0 - 5}, {"batch", t0 + 1}, {"batch", t0}} {
		f := makeFile(t, s, alice, c.purpose, c.at, 0)
		if i%2 == 0 {
			makeFile(t, s, bob, c.purpose, c.at, 0) // never listed for alice
		}
		all = append(all, f)
		if c.purpose == "batch" {
			batch = append(batch, f)
		}
	}
	for _, desc := range []bool{true, false} {
		for _, limit := range []int{1, 2, 3, len(all), len(all) + 1, 10000} {
			if got, want := listAll(t, s, alice, store.FileQuery{Limit: limit, Desc: desc}, t0+10), sortedIDs(all, desc); !slices.Equal(got, want) {
				t.Errorf("desc=%v limit=%d: listed %v, want %v", desc, limit, got, want)
			}
			if got, want := listAll(t, s, alice, store.FileQuery{Limit: limit, Desc: desc, Purpose: "batch"}, t0+10), sortedIDs(batch, desc); !slices.Equal(got, want) {
				t.Errorf("desc=%v limit=%d purpose=batch: listed %v, want %v", desc, limit, got, want)
			}
		}
	}
	if got := listAll(t, s, alice, store.FileQuery{Limit: 5, Purpose: "vision"}, t0+10); len(got) != 0 {
		t.Errorf("purpose=vision listed %v, want nothing", got)
	}
	// A page of one, and what it says about the rest.
	page, more, err := s.ListFiles(context.Background(), alice, store.FileQuery{Limit: 1, Desc: true}, t0+10)
	if err != nil || len(page) != 1 || !more || page[0].ID != sortedIDs(all, true)[0] {
		t.Errorf("first page of 1 = %v, %v, %v; want the newest file and more", page, more, err)
	}
	if len(page) == 1 && !sameFile(page[0], all[slices.IndexFunc(all, func(f store.File) bool { return f.ID == page[0].ID })]) {
		t.Errorf("listed file %+v differs from the one completed", page[0])
	}
	last := sortedIDs(all, true)[len(all)-1]
	if page, more, err := s.ListFiles(context.Background(), alice, store.FileQuery{Limit: 5, Desc: true, After: last}, t0+10); err != nil || len(page) != 0 || more {
		t.Errorf("page after the last file = %v, %v, %v; want empty, no more", page, more, err)
	}

	// Cursors that name no file of alice's.
	bobs := listAll(t, s, bob, store.FileQuery{Limit: 100}, t0+10)
	for _, after := range []string{newFileID(), bobs[0]} {
		_, _, err := s.ListFiles(context.Background(), alice, store.FileQuery{Limit: 5, After: after}, t0+10)
		wantErrorIs(t, err, store.ErrUnknownCursor)
	}
	if _, _, err := s.ListFiles(context.Background(), alice, store.FileQuery{Limit: 0}, t0+10); err == nil {
		t.Errorf("ListFiles with limit 0: no error")
	}
}

// testListFilesStable: files deleted or added between pages, the cursor's own file included,
// neither repeat nor skip a file that existed throughout.
func testListFilesStable(t *testing.T, s store.Store) {
	ctx := context.Background()
	var files []store.File
	for i := range 6 {
		files = append(files, makeFile(t, s, alice, "batch", t0+int64(i/2), 0)) // pairs share a second
	}
	for _, desc := range []bool{true, false} {
		q := store.FileQuery{Limit: 2, Desc: desc}
		page, _, err := s.ListFiles(ctx, alice, q, t0+10)
		if err != nil {
			t.Fatal(err)
		}
		seen := []string{page[0].ID, page[1].ID}
		// The cursor's file goes, and a new file comes, before the next page.
		if _, err := s.DeleteFile(ctx, alice, page[1].ID, t0+10); err != nil {
			t.Fatalf("DeleteFile: %v", err)
		}
		added := makeFile(t, s, alice, "batch", t0+2, 0)
		q.After = page[1].ID
		seen = append(seen, listAll(t, s, alice, q, t0+10)...)
		var want []string
		for _, id := range sortedIDs(files, desc) {
			if !slices.Contains(seen, id) && id != page[1].ID {
				t.Errorf("desc=%v: %s, there throughout, was skipped", desc, id)
			}
			want = append(want, id)
		}
		for i, id := range seen {
			if slices.Index(seen, id) != i {
				t.Errorf("desc=%v: %s listed twice", desc, id)
			}
			if !slices.Contains(want, id) && id != added.ID {
				t.Errorf("desc=%v: listed %s, which is not alice's", desc, id)
			}
		}
		files = slices.DeleteFunc(files, func(f store.File) bool { return f.ID == page[1].ID })
		files = append(files, added)
	}
}

// testDeleteFile: a deleted file is gone from every method, for good; another owner can neither
// delete nor see it; its upload still reads completed.
func testDeleteFile(t *testing.T, s store.Store) {
	ctx := context.Background()
	u, parts := uploadWithParts(t, s, t0, "abc", "def")
	_, f := complete(t, s, u.ID, parts, t0)
	keep := makeFile(t, s, alice, "batch", t0, 0)

	_, err := s.DeleteFile(ctx, bob, f.ID, t0+1)
	wantErrorIs(t, err, store.ErrNotFound)
	if got := readFile(t, s, alice, f.ID); got != "abcdef" {
		t.Fatalf("after another owner's delete, the file holds %q", got)
	}

	got, err := s.DeleteFile(ctx, alice, f.ID, t0+1)
	if err != nil {
		t.Fatalf("DeleteFile: %v", err)
	}
	if !sameFile(got, f) {
		t.Errorf("DeleteFile returned %+v, want %+v", got, f)
	}
	_, err = s.GetFile(ctx, alice, f.ID, t0+1)
	wantErrorIs(t, err, store.ErrNotFound)
	_, _, err = s.OpenFile(ctx, alice, f.ID, t0+1)
	wantErrorIs(t, err, store.ErrNotFound)
	_, err = s.DeleteFile(ctx, alice, f.ID, t0+1)
	wantErrorIs(t, err, store.ErrNotFound)
	if ids := listAll(t, s, alice, store.FileQuery{Limit: 10}, t0+1); !slices.Equal(ids, []string{keep.ID}) {
		t.Errorf("after the delete, listed %v, want only %s", ids, keep.ID)
	}
	// The deleted file still marks a place to list after.
	if _, _, err := s.ListFiles(ctx, alice, store.FileQuery{Limit: 10, Desc: true, After: f.ID}, t0+1); err != nil {
		t.Errorf("listing after the deleted file: %v", err)
	}
	if up := getUpload(t, s, u.ID, t0+1); up.Status != store.StatusCompleted || up.FileID != f.ID {
		t.Errorf("the upload of a deleted file reads %+v, want completed with file %s", up, f.ID)
	}
	// The delete released the file's bytes itself (or had them released in the background).
	settle(t, s)
	sweep(t, s, t0+1, store.SweepResult{})
	if got := readFile(t, s, alice, keep.ID); got != "abc" {
		t.Errorf("the other file holds %q after the delete and a sweep, want %q", got, "abc")
	}
}

// testFileExpiry: a file is gone from every method from its expires_at on, whether or not a sweep
// ran; the sweep releases it, and it still marks a place to list after.
func testFileExpiry(t *testing.T, s store.Store) {
	ctx := context.Background()
	const after = 3600
	f := makeFile(t, s, alice, "batch", t0, after)
	keep := makeFile(t, s, alice, "batch", t0, 0)
	exp := t0 + after
	if f.ExpiresAt == nil || *f.ExpiresAt != exp {
		t.Fatalf("file expires at %v, want %d", f.ExpiresAt, exp)
	}
	if ids := listAll(t, s, alice, store.FileQuery{Limit: 10}, exp-1); len(ids) != 2 {
		t.Errorf("a second before expiry, listed %v, want both files", ids)
	}
	settle(t, s)
	sweep(t, s, exp-1, store.SweepResult{})
	if got := readFile(t, s, alice, f.ID); got != "abc" {
		t.Errorf("before expiry, a sweep left %q, want %q", got, "abc")
	}
	check := func(when string) {
		t.Helper()
		_, err := s.GetFile(ctx, alice, f.ID, exp)
		wantErrorIs(t, err, store.ErrNotFound)
		_, _, err = s.OpenFile(ctx, alice, f.ID, exp)
		wantErrorIs(t, err, store.ErrNotFound)
		if ids := listAll(t, s, alice, store.FileQuery{Limit: 10}, exp); !slices.Equal(ids, []string{keep.ID}) {
			t.Errorf("%s: listed %v, want only %s", when, ids, keep.ID)
		}
		if _, _, err := s.ListFiles(ctx, alice, store.FileQuery{Limit: 10, After: f.ID}, exp); err != nil {
			t.Errorf("%s: listing after the expired file: %v", when, err)
		}
	}
	check("expired, before the sweep")
	_, err := s.DeleteFile(ctx, alice, f.ID, exp)
	wantErrorIs(t, err, store.ErrNotFound)
	// The expired file, and the bytes of its one part; its upload was completed, not expired.
	sweep(t, s, exp, store.SweepResult{Files: 1, Bytes: 3})
	sweep(t, s, exp, store.SweepResult{})
	check("after the sweep")
	// A clock that runs behind does not bring it back.
	if _, err := s.GetFile(ctx, alice, f.ID, exp-10); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetFile of a swept file at an earlier time: %v, want ErrNotFound", err)
	}
	if got := readFile(t, s, alice, keep.ID); got != "abc" {
		t.Errorf("the file that does not expire holds %q after the sweep", got)
	}
}

// testDeleteFreesQuota: a deleted File no longer counts against its owner's quota.
func testDeleteFreesQuota(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := makeFile(t, s, alice, "batch", t0, 0) // 3 bytes
	u := createUpload(t, s, alice, 3, t0)
	lim := store.Limits{MaxPart: MaxPartSize, Quota: 4}
	_, err := s.AddPart(ctx, alice, u.ID, newPartID(), strings.NewReader("xyz"), lim, store.At(t0))
	var qe *store.QuotaError
	if !errors.As(err, &qe) {
		t.Fatalf("AddPart past the quota: %v, want a *store.QuotaError", err)
	}
	if _, err := s.DeleteFile(ctx, alice, f.ID, t0); err != nil {
		t.Fatalf("DeleteFile: %v", err)
	}
	if _, err := s.AddPart(ctx, alice, u.ID, newPartID(), strings.NewReader("xyz"), lim, store.At(t0)); err != nil {
		t.Errorf("AddPart after the File that filled the quota was deleted: %v", err)
	}
}
