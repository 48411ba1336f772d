package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// TestReopen: everything recorded before Close is there after Open on the same directory.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	done := mustCreate(t, s, 6)
	p1, p2 := mustAddPart(t, s, done.ID, "abc"), mustAddPart(t, s, done.ID, "def")
	f := mustComplete(t, s, done.ID, p2.ID, p1.ID)
	pending := mustCreate(t, s, 3)
	pp := mustAddPart(t, s, pending.ID, "xyz")
	cancelled := mustCreate(t, s, 3)
	if _, err := s.Cancel(ctx, owner, cancelled.ID, t0); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.GetUpload(ctx, owner, done.ID, t0); err == nil {
		t.Errorf("GetUpload after Close: no error")
	}
	if exists(t, filepath.Join(dir, "uploads.db-wal")) {
		if fi, _ := os.Stat(filepath.Join(dir, "uploads.db-wal")); fi.Size() != 0 {
			t.Errorf("the write-ahead log holds %d bytes after Close, want it checkpointed", fi.Size())
		}
	}

	s = openTemp(t, dir)
	wantStatus := map[string]store.Status{done.ID: store.StatusCompleted, pending.ID: store.StatusPending, cancelled.ID: store.StatusCancelled}
	for id, want := range wantStatus {
		u, err := s.GetUpload(ctx, owner, id, t0)
		if err != nil || u.Status != want {
			t.Errorf("upload %s after reopen: %+v, %v; want status %s", id, u, err, want)
		}
	}
	if got := mustRead(t, s, f.ID); got != "defabc" {
		t.Errorf("file after reopen holds %q, want %q", got, "defabc")
	}
	gotF, err := s.GetFile(ctx, owner, f.ID, t0)
	if err != nil || gotF != f {
		t.Errorf("GetFile after reopen = %+v, %v; want %+v", gotF, err, f)
	}
	f2 := mustComplete(t, s, pending.ID, pp.ID)
	if got := mustRead(t, s, f2.ID); got != "xyz" {
		t.Errorf("file of a part added before reopen holds %q, want %q", got, "xyz")
	}
}

// TestOpenRemovesOrphans: temporary files, part files without a record and directories of
// unknown uploads are removed at Open; recorded parts stay.
func TestOpenRemovesOrphans(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	u := mustCreate(t, s, 4)
	p := mustAddPart(t, s, u.ID, "keep")
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	upDir := filepath.Join(dir, "parts", u.ID)
	orphans := []string{
		filepath.Join(upDir, tempPrefix+"part_x-123"),                // a write cut short
		filepath.Join(upDir, "part_neverrecorded"),                   // written, not recorded
		filepath.Join(dir, "parts", "upload_unknown", "part_y"),      // an upload that does not exist
		filepath.Join(dir, "parts", "upload_unknown", ".tmp-part_z"), // and its temporary file
	}
	for _, path := range orphans {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	s = openTemp(t, dir)
	for _, path := range orphans {
		if exists(t, path) {
			t.Errorf("%s survived Open", path)
		}
	}
	if exists(t, filepath.Join(dir, "parts", "upload_unknown")) {
		t.Errorf("the directory of an unknown upload survived Open")
	}
	if !exists(t, filepath.Join(upDir, p.ID)) {
		t.Fatalf("the recorded part's file was removed by Open")
	}
	if got := mustRead(t, s, mustComplete(t, s, u.ID, p.ID).ID); got != "keep" {
		t.Errorf("file holds %q, want %q", got, "keep")
	}
}

// cancelWhileReading is part data that cancels the upload when it is half read, so the part's
// bytes are written but its recording transaction must fail.
type cancelWhileReading struct {
	t        *testing.T
	s        *Store
	uploadID string
	data     *strings.Reader
	done     bool
}

func (r *cancelWhileReading) Read(p []byte) (int, error) {
	if !r.done {
		r.done = true
		if _, err := r.s.Cancel(context.Background(), owner, r.uploadID, t0); err != nil {
			r.t.Errorf("Cancel: %v", err)
		}
	}
	return r.data.Read(p)
}

// TestFailedRecordLeavesNoFile: when the transaction recording a part fails, its file is removed.
func TestFailedRecordLeavesNoFile(t *testing.T) {
	ctx := context.Background()
	t.Run("upload cancelled while the part was written", func(t *testing.T) {
		s := openTemp(t, t.TempDir())
		u := mustCreate(t, s, 4)
		p := randomID("part_")
		_, err := s.AddPart(ctx, owner, u.ID, p, &cancelWhileReading{t: t, s: s, uploadID: u.ID, data: strings.NewReader("abcd")}, store.Limits{MaxPart: maxPart}, store.At(t0))
		var se *store.StateError
		if !errors.As(err, &se) || se.Status != store.StatusCancelled {
			t.Fatalf("AddPart = %v, want a StateError saying cancelled", err)
		}
		if files := filesUnder(t, s.partsDir); len(files) != 0 {
			t.Errorf("files left after the refused part: %v", files)
		}
	})
	t.Run("part id already recorded for another upload", func(t *testing.T) {
		s := openTemp(t, t.TempDir())
		a, b := mustCreate(t, s, 4), mustCreate(t, s, 4)
		pa := mustAddPart(t, s, a.ID, "aaaa")
		_, err := s.AddPart(ctx, owner, b.ID, pa.ID, strings.NewReader("bbbb"), store.Limits{MaxPart: maxPart}, store.At(t0))
		if err == nil {
			t.Fatalf("AddPart reusing a part id: no error")
		}
		if exists(t, s.partPath(b.ID, pa.ID)) {
			t.Errorf("the refused part's file is still there")
		}
		if got := mustRead(t, s, mustComplete(t, s, a.ID, pa.ID).ID); got != "aaaa" {
			t.Errorf("the first part holds %q, want %q", got, "aaaa")
		}
	})
	t.Run("part id already recorded for this upload", func(t *testing.T) {
		s := openTemp(t, t.TempDir())
		u := mustCreate(t, s, 4)
		p := mustAddPart(t, s, u.ID, "orig")
		_, err := s.AddPart(ctx, owner, u.ID, p.ID, strings.NewReader("EVIL"), store.Limits{MaxPart: maxPart}, store.At(t0))
		if err == nil {
			t.Fatalf("AddPart reusing a part id: no error")
		}
		if got := mustRead(t, s, mustComplete(t, s, u.ID, p.ID).ID); got != "orig" {
			t.Errorf("the recorded part holds %q after a refused reuse of its id, want %q", got, "orig")
		}
	})
	t.Run("context cancelled while the part was written", func(t *testing.T) {
		s := openTemp(t, t.TempDir())
		u := mustCreate(t, s, 4)
		cctx, cancel := context.WithCancel(ctx)
		r := readerFunc(func(p []byte) (int, error) { cancel(); return copy(p, "ab"), nil })
		if _, err := s.AddPart(cctx, owner, u.ID, randomID("part_"), r, store.Limits{MaxPart: maxPart}, store.At(t0)); !errors.Is(err, context.Canceled) {
			t.Fatalf("AddPart = %v, want context.Canceled", err)
		}
		if files := filesUnder(t, s.partsDir); len(files) != 0 {
			t.Errorf("files left after the interrupted part: %v", files)
		}
	})
	t.Run("part too large", func(t *testing.T) {
		s := openTemp(t, t.TempDir())
		u := mustCreate(t, s, 4)
		_, err := s.AddPart(ctx, owner, u.ID, randomID("part_"),
			strings.NewReader(strings.Repeat("x", maxPart+1)), store.Limits{MaxPart: maxPart}, store.At(t0))
		if !errors.Is(err, store.ErrPartTooLarge) {
			t.Fatalf("AddPart = %v, want ErrPartTooLarge", err)
		}
		if files := filesUnder(t, s.partsDir); len(files) != 0 {
			t.Errorf("files left after the refused part: %v", files)
		}
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestSchemaVersion: Open records the schema version, keeps it on reopen, and refuses a database
// newer than it knows.
func TestSchemaVersion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTemp(t, dir)
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(names) < 2 {
		t.Fatalf("migrations %v, %v", names, err)
	}
	var v int
	if err := s.read.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v != len(names) {
		t.Fatalf("user_version = %d, %v; want %d, one per migration", v, err, len(names))
	}
	s.Close()
	s = openTemp(t, dir) // the migration is not applied twice
	s.Close()

	db, err := sql.Open("sqlite", filepath.Join(dir, "uploads.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := Open(ctx, dir); err == nil || !strings.Contains(err.Error(), "newer") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a database with a newer schema = %v, want an error saying so", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if !slices.Contains(files, filepath.Join(dir, "uploads.db")) {
		t.Errorf("the database file is gone: %v", files)
	}
}

// TestOneStorePerDirectory: a directory in use by an open store cannot be opened again until that
// store is closed.
func TestOneStorePerDirectory(t *testing.T) {
	if !canLockDir {
		t.Skip("directory locking (flock) is not available on this system")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if second, err := Open(ctx, dir); err == nil {
		second.Close()
		t.Fatalf("second Open of a directory in use: no error")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Open error = %v, want it to say the directory is in use", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	openTemp(t, dir)
}

// TestConnectionSettings: both pools run in WAL mode with foreign keys and a busy timeout, and
// only the writer can write.
func TestConnectionSettings(t *testing.T) {
	s := openTemp(t, t.TempDir())
	for name, db := range map[string]*sql.DB{"write": s.write, "read": s.read} {
		var mode string
		var fk, busy int
		if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("%s: journal_mode = %q, %v; want wal", name, mode, err)
		}
		if err := db.QueryRow("PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
			t.Errorf("%s: foreign_keys = %d, %v; want 1", name, fk, err)
		}
		if err := db.QueryRow("PRAGMA busy_timeout").Scan(&busy); err != nil || busy != busyTimeoutMillis {
			t.Errorf("%s: busy_timeout = %d, %v; want %d", name, busy, err, busyTimeoutMillis)
		}
	}
	if _, err := s.read.Exec(`DELETE FROM uploads`); err == nil {
		t.Errorf("the read pool accepted a write")
	}
}
