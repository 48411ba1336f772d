package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// testCompleteCheckOrder: each case breaks the request in several ways at once; the error must be
// the first check that fails in the documented order, and nothing may change.
func testCompleteCheckOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, otherParts := uploadWithParts(t, s, t0, "zz")
	const content = "abcdef"
	wrongMD5 := md5Hex("something else")

	cases := []struct {
		name    string
		setup   func(t *testing.T, u store.Upload) // optional: change the upload's state first
		partIDs func(parts []string) []string      // parts holds "abc", "def"
		md5     string
		check   func(t *testing.T, u store.Upload, parts []string, err error)
	}{
		{
			name:    "not pending comes before empty part_ids",
			setup:   func(t *testing.T, u store.Upload) { s.Cancel(ctx, alice, u.ID, t0) },
			partIDs: func([]string) []string { return nil },
			check: func(t *testing.T, u store.Upload, _ []string, err error) {
				wantStateError(t, err, u.ID, store.StatusCancelled)
			},
		},
		{
			name:    "empty part_ids comes before a wrong md5",
			partIDs: func([]string) []string { return []string{} },
			md5:     wrongMD5,
			check:   func(t *testing.T, _ store.Upload, _ []string, err error) { wantErrorIs(t, err, store.ErrNoParts) },
		},
		{
			name:    "duplicate comes before unknown",
			partIDs: func(p []string) []string { return []string{newPartID(), p[0], p[1], p[0]} },
			check: func(t *testing.T, _ store.Upload, p []string, err error) {
				wantPartError(t, err, store.ErrDuplicatePart, p[0])
			},
		},
		{
			name:    "unknown part comes before a size mismatch",
			partIDs: func(p []string) []string { return []string{p[0], "part_doesnotexist"} },
			check: func(t *testing.T, _ store.Upload, _ []string, err error) {
				wantPartError(t, err, store.ErrUnknownPart, "part_doesnotexist")
			},
		},
		{
			name:    "a part of another upload is unknown",
			partIDs: func(p []string) []string { return []string{p[0], p[1], otherParts[0]} },
			check: func(t *testing.T, _ store.Upload, _ []string, err error) {
				wantPartError(t, err, store.ErrUnknownPart, otherParts[0])
			},
		},
		{
			name:    "size mismatch comes before a wrong md5",
			partIDs: func(p []string) []string { return []string{p[1]} },
			md5:     wrongMD5,
			check: func(t *testing.T, _ store.Upload, _ []string, err error) {
				var se *store.SizeError
				if !errors.As(err, &se) || se.Declared != int64(len(content)) || se.Got != 3 {
					t.Fatalf("error = %v, want SizeError{Declared: %d, Got: 3}", err, len(content))
				}
			},
		},
		{
			name:    "wrong md5",
			partIDs: func(p []string) []string { return p },
			md5:     wrongMD5,
			check: func(t *testing.T, _ store.Upload, _ []string, err error) {
				var ce *store.ChecksumError
				if !errors.As(err, &ce) || ce.Want != wrongMD5 || ce.Got != md5Hex(content) {
					t.Fatalf("error = %v, want ChecksumError{Want: %s, Got: %s}", err, wrongMD5, md5Hex(content))
				}
			},
		},
		{
			name:    "md5 of the parts in the order given, not in upload order",
			partIDs: func(p []string) []string { return []string{p[1], p[0]} },
			md5:     md5Hex(content),
			check: func(t *testing.T, _ store.Upload, _ []string, err error) {
				var ce *store.ChecksumError
				if !errors.As(err, &ce) || ce.Got != md5Hex("defabc") {
					t.Fatalf("error = %v, want ChecksumError with Got = md5 of \"defabc\"", err)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, parts := uploadWithParts(t, s, t0, "abc", "def")
			if c.setup != nil {
				c.setup(t, u)
			}
			before := getUpload(t, s, u.ID, t0)
			_, _, err := s.Complete(ctx, alice, u.ID, c.partIDs(parts), c.md5, newFileID(), store.At(t0))
			if err == nil {
				t.Fatalf("Complete: no error")
			}
			c.check(t, u, parts, err)
			if after := getUpload(t, s, u.ID, t0); after != before {
				t.Errorf("a refused Complete changed the upload from %+v to %+v", before, after)
			}
			if before.Status == store.StatusPending {
				// Nothing happened, so a correct request still succeeds, with every part there.
				_, f, err := s.Complete(ctx, alice, u.ID, parts, md5Hex(content), newFileID(), store.At(t0))
				if err != nil {
					t.Fatalf("Complete after a refused one: %v", err)
				}
				if got := readFile(t, s, alice, f.ID); got != content {
					t.Errorf("file content = %q, want %q", got, content)
				}
			}
		})
	}

	t.Run("unknown upload", func(t *testing.T) {
		_, _, err := s.Complete(ctx, alice, newUploadID(), nil, "", newFileID(), store.At(t0))
		wantErrorIs(t, err, store.ErrNotFound)
	})
}

// wantPartError checks that err is a *store.PartError about partID wrapping target.
func wantPartError(t *testing.T, err, target error, partID string) {
	t.Helper()
	var pe *store.PartError
	if !errors.As(err, &pe) || !errors.Is(err, target) || pe.PartID != partID {
		t.Fatalf("error = %v, want a PartError for %s wrapping %v", err, partID, target)
	}
}

// testContentInPartIDsOrder: the file is the parts named, in the order named, whatever order they
// were uploaded in; parts not named are not part of it.
func testContentInPartIDsOrder(t *testing.T, s store.Store) {
	u := createUpload(t, s, alice, 9, t0)
	p1 := addPart(t, s, alice, u.ID, "aaa", t0)
	addPart(t, s, alice, u.ID, "UNUSED", t0)
	p2 := addPart(t, s, alice, u.ID, "bbbb", t0)
	p3 := addPart(t, s, alice, u.ID, "cc", t0)
	_, f := complete(t, s, u.ID, []string{p3.ID, p1.ID, p2.ID}, t0)
	if got := readFile(t, s, alice, f.ID); got != "ccaaabbbb" {
		t.Errorf("file content = %q, want %q", got, "ccaaabbbb")
	}
	of, rc, err := s.OpenFile(context.Background(), alice, f.ID, t0)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	rc.Close()
	if of.Bytes != 9 || of.ID != f.ID {
		t.Errorf("OpenFile returned file %+v, want %s of 9 bytes", of, f.ID)
	}
}

// testCompletedFileFields: the store makes the file from the upload: its id is the caller's, it is
// created at the time of completion and expires FileExpiresAfter seconds later (never, for 0).
func testCompletedFileFields(t *testing.T, s store.Store) {
	ctx := context.Background()
	const after = 86400
	expires := t0 + 7 + after
	for _, exp := range []*int64{nil, &expires} {
		u := newUpload(alice, 5, t0)
		if exp != nil {
			u.FileExpiresAfter = after
		}
		if err := s.CreateUpload(ctx, u); err != nil {
			t.Fatalf("CreateUpload: %v", err)
		}
		parts := []string{addPart(t, s, alice, u.ID, "12345", t0).ID}
		fileID := newFileID()
		gotU, f, err := s.Complete(ctx, alice, u.ID, parts, "", fileID, store.At(t0+7))
		if err != nil {
			t.Fatalf("Complete: %v", err)
		}
		want := store.File{ID: fileID, Owner: alice, UploadID: u.ID, Filename: u.Filename, Purpose: u.Purpose,
			Bytes: 5, CreatedAt: t0 + 7, ExpiresAt: exp}
		if !sameFile(f, want) {
			t.Errorf("Complete returned file %+v, want %+v", f, want)
		}
		if gotU.FileID != fileID || gotU.Status != store.StatusCompleted {
			t.Errorf("Complete returned upload %+v, want completed with file %s", gotU, fileID)
		}
		stored, err := s.GetFile(ctx, alice, fileID, t0+7)
		if err != nil {
			t.Fatalf("GetFile: %v", err)
		}
		if !sameFile(stored, want) {
			t.Errorf("GetFile = %+v, want %+v", stored, want)
		}
		if exp == nil {
			continue
		}
		// From its expires_at on, the file is gone.
		if _, err := s.GetFile(ctx, alice, fileID, *exp-1); err != nil {
			t.Errorf("GetFile a second before the file expires: %v", err)
		}
		_, err = s.GetFile(ctx, alice, fileID, *exp)
		wantErrorIs(t, err, store.ErrNotFound)
		_, _, err = s.OpenFile(ctx, alice, fileID, *exp)
		wantErrorIs(t, err, store.ErrNotFound)
	}
}

// sameFile compares files, ExpiresAt by value.
func sameFile(a, b store.File) bool {
	ea, eb := a.ExpiresAt, b.ExpiresAt
	a.ExpiresAt, b.ExpiresAt = nil, nil
	if a != b || (ea == nil) != (eb == nil) {
		return false
	}
	return ea == nil || *ea == *eb
}
