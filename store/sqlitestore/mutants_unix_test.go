//go:build linux || darwin || freebsd

package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// TestFreeBytesIsTheDisks: FreeBytes reports what the filesystem has free for an unprivileged
// writer (read here with statfs, before and after, as other writers on the machine change it),
// and with room on the disk the store has made its space reserve.
func TestFreeBytesIsTheDisks(t *testing.T) {
	dir := t.TempDir()
	statfs := func() int64 {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			t.Fatalf("statfs: %v", err)
		}
		return int64(st.Bavail) * int64(st.Bsize)
	}
	if statfs() < 1<<30 {
		t.Skip("less than 1 GiB free: the disk is too busy to compare")
	}
	s := openTemp(t, dir)
	before := statfs()
	free, err := s.FreeBytes(context.Background())
	after := statfs()
	if err != nil {
		t.Fatalf("FreeBytes: %v", err)
	}
	// Other writers may take or give back a little meanwhile; a wrong unit or a zero is far off.
	if lo, hi := min(before, after)/2, max(before, after)*2; free < lo || free > hi {
		t.Errorf("FreeBytes = %d, statfs says %d then %d", free, before, after)
	}
	if fi, err := os.Stat(s.reservePath()); err != nil || fi.Size() != reserveBytes {
		t.Errorf("space reserve: %v, %v; want a file of %d bytes", fi, err, reserveBytes)
	}
}

// TestNoSpaceErrors: a full disk (ENOSPC, or SQLite's "database or disk is full") is read as
// store.ErrNoSpace, and no other error is: not a statement SQLite refused, not a missing file.
func TestNoSpaceErrors(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	_, sqlErr := s.read.ExecContext(ctx, `SELECT * FROM no_such_table`)
	if sqlErr == nil {
		t.Fatal("a query of a missing table succeeded")
	}
	// A database that may not grow: SQLite answers SQLITE_FULL.
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE filler (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `PRAGMA max_page_count = 1`); err != nil {
		t.Fatal(err)
	}
	_, fullErr := s.write.ExecContext(ctx, `INSERT INTO filler VALUES (zeroblob(1 << 20))`)
	if _, err := s.write.ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		err  error
		full bool
	}{
		{"ENOSPC", fmt.Errorf("write: %w", syscall.ENOSPC), true},
		{"SQLITE_FULL", fullErr, true},
		{"another SQLite error", sqlErr, false},
		{"a missing file", fmt.Errorf("open: %w", fs.ErrNotExist), false},
	} {
		if got := isNoSpace(c.err); got != c.full {
			t.Errorf("isNoSpace(%s: %v) = %v, want %v", c.name, c.err, got, c.full)
		}
		wrapped := noSpace(c.err)
		if got := errors.Is(wrapped, store.ErrNoSpace); got != c.full {
			t.Errorf("noSpace(%s: %v) = %v, wraps ErrNoSpace: %v, want %v", c.name, c.err, wrapped, got, c.full)
		}
		if !errors.Is(wrapped, c.err) {
			t.Errorf("noSpace(%s) = %v, lost the error itself", c.name, wrapped)
		}
	}
	if err := noSpace(nil); err != nil {
		t.Errorf("noSpace(nil) = %v", err)
	}
}

// TestFreeingDrawsOnTheReserve: a write that frees space and fails for lack of it gives up the
// reserve and runs once more; one that fails otherwise runs once and leaves the reserve alone.
func TestFreeingDrawsOnTheReserve(t *testing.T) {
	s := openTemp(t, t.TempDir())
	calls := 0
	other := errors.New("another failure")
	if err := s.freeing(func() error { calls++; return other }); !errors.Is(err, other) || calls != 1 {
		t.Errorf("freeing of a write that fails otherwise = %v after %d calls, want its error after 1", err, calls)
	}
	if !exists(t, s.reservePath()) || s.reserveMissing.Load() {
		t.Errorf("a failure that is not a full disk gave up the reserve")
	}

	calls = 0
	err := s.freeing(func() error {
		calls++
		if calls == 1 {
			return fmt.Errorf("write: %w", syscall.ENOSPC)
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Errorf("freeing of a write that fails for space once = %v after %d calls, want success after 2", err, calls)
	}
	if exists(t, s.reservePath()) || !s.reserveMissing.Load() {
		t.Errorf("the second run did not draw on the reserve: it is still there")
	}

	// Without a reserve left, the failure is the answer.
	calls = 0
	if err := s.freeing(func() error { calls++; return syscall.ENOSPC }); !errors.Is(err, syscall.ENOSPC) || calls != 1 {
		t.Errorf("freeing without a reserve = %v after %d calls, want ENOSPC after 1", err, calls)
	}
}

// TestKeepReserveMendsIt: a reserve of the wrong size (cut short by a crash) is made anew, and a
// reserve left half made by a crash is removed.
func TestKeepReserveMendsIt(t *testing.T) {
	s := openTemp(t, t.TempDir())
	if err := os.Truncate(s.reservePath(), 1); err != nil {
		t.Fatal(err)
	}
	stale := s.reservePath() + "-123456"
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.keepReserve(); err != nil {
		t.Fatalf("keepReserve: %v", err)
	}
	if fi, err := os.Stat(s.reservePath()); err != nil || fi.Size() != reserveBytes || s.reserveMissing.Load() {
		t.Errorf("reserve after keepReserve: %v, %v (missing: %v); want %d bytes", fi, err, s.reserveMissing.Load(), reserveBytes)
	}
	if exists(t, stale) {
		t.Errorf("the half-made reserve %s is still there", stale)
	}
}

// TestRemoveDirReportsTheDirectoryItself: when the files of a directory are removed but the
// directory itself cannot be (here its path ends in "/.", which rmdir refuses), removeDir reports
// that failure, so the upload stays marked releasing for the next run instead of being marked
// released with its directory left behind.
func TestRemoveDirReportsTheDirectoryItself(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "upload_x")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "part_a"), []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	freed, err := removeDir(dir + "/.")
	if err == nil {
		t.Errorf("removeDir of a directory that cannot be removed: no error")
	}
	if freed != 3 || exists(t, filepath.Join(dir, "part_a")) {
		t.Errorf("removeDir freed %d bytes, want the part's 3, its file removed", freed)
	}
}
