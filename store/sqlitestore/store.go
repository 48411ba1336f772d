package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/uploadkit/uploads/store"
)

var _ store.Store = (*Store)(nil)

// busyTimeoutMillis is how long a connection waits for another writer (for example a second
// process on the same directory) before giving up with SQLITE_BUSY.
const busyTimeoutMillis = 10000

// Store is the embedded store: SQLite for metadata, the filesystem for part bytes. It is safe for
// concurrent use. Create it with Open.
type Store struct {
	dir      string
	partsDir string

	// write has exactly one connection, and every transaction on it begins IMMEDIATE: writers
	// queue in Go (honouring their contexts) instead of contending inside SQLite.
	write *sql.DB
	// read serves queries outside transactions; WAL lets it read while a write is in progress.
	read *sql.DB

	lock *os.File // held while the store is open; nil where locking is not available

	// sync makes part files and their directories durable (fsyncer but in tests).
	sync syncer

	// diskFree reports the bytes free on the filesystem of a directory (the system's diskFree but
	// in tests, which give the reserve's margin a disk of any size).
	diskFree func(dir string) (int64, error)

	// writeBuffers recycles the blocks part bytes are gathered into before each write.
	writeBuffers sync.Pool

	// reserveMu serializes making and removing the space reserve (see space.go);
	// reserveMissing says it is not in place.
	reserveMu      sync.Mutex
	reserveMissing atomic.Bool

	// The background remover of part files (remover.go), and the lock it and the sweeper take
	// turns on.
	removerKick     chan struct{}
	removerStop     chan struct{}
	removerDone     chan struct{}
	removerStopOnce sync.Once
	releaseMu       sync.Mutex

	// cancels gathers concurrent cancels into one transaction (cancel.go).
	cancels cancelQueue

	// stmts are the write connection's statements prepared once, at Open.
	stmts writeStatements

	closeOnce sync.Once
	closeErr  error
}

// Open opens, creating it when needed, the store kept in directory dir: the database
// dir/uploads.db and the part bytes under dir/parts. It applies pending schema migrations and
// removes part files that no recorded part owns (left by a crash between writing and recording
// them). A directory serves one store at a time: a second Open of it fails until the first store
// is closed.
func Open(ctx context.Context, dir string) (*Store, error) {
	if strings.ContainsRune(dir, '?') {
		return nil, fmt.Errorf("open store in %q: the directory name may not contain '?'", dir)
	}
	s := &Store{dir: dir, partsDir: filepath.Join(dir, "parts"), sync: fsyncer(), diskFree: diskFree}
	s.writeBuffers.New = func() any { b := make([]byte, writeBlockSize); return &b }
	if err := os.MkdirAll(s.partsDir, 0o755); err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}

	var err error
	if s.lock, err = lockDir(dir); err != nil {
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	if err := s.open(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store in %s: %w", dir, err)
	}
	return s, nil
}

// open opens both pools, migrates the schema and removes orphan part files.
func (s *Store) open(ctx context.Context) error {
	dbPath := filepath.Join(s.dir, "uploads.db")
	var err error
	if s.write, err = openDB(dbPath, true); err != nil {
		return err
	}
	if err := migrate(ctx, s.write); err != nil {
		return err
	}
	if err := s.stmts.prepare(ctx, s.write); err != nil {
		return err
	}
	if s.read, err = openDB(dbPath, false); err != nil {
		return err
	}
	if err := s.removeOrphans(ctx); err != nil {
		return err
	}
	// Without room for the reserve the store still opens, on a full disk too, and makes the
	// reserve once there is room.
	_ = s.keepReserve()
	s.startRemover()
	return nil
}

// openDB opens one pool on the database file: the single-connection writer or the reader pool.
func openDB(path string, writer bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// NORMAL is durable in WAL mode except for the last transactions before a power loss, which
	// roll back whole; FULL makes every commit durable, which is what a recorded part promises.
	q.Add("_pragma", "synchronous(FULL)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Set("_query_only", "1")
	}
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if writer {
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(8)
	}
	// Keep connections: opening one runs the pragmas again.
	db.SetMaxIdleConns(8)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// Close checkpoints the write-ahead log into the database file and closes it. Calls after the
// first return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopRemover()
		var errs []error
		if s.read != nil {
			errs = append(errs, s.read.Close())
		}
		errs = append(errs, s.stmts.close())
		if s.write != nil {
			// On a full disk the checkpoint may need room in the database file: the reserve's.
			if err := s.freeing(func() error {
				_, err := s.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
				return err
			}); err != nil {
				errs = append(errs, fmt.Errorf("checkpoint: %w", err))
			}
			errs = append(errs, s.write.Close())
		}
		if s.lock != nil {
			errs = append(errs, s.lock.Close())
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("close store in %s: %w", s.dir, err)
		}
	})
	return s.closeErr
}

// writeStatements are statements of the request path prepared once on the write connection:
// parsing SQL again on every request costs as much as running it.
type writeStatements struct {
	cancel          *sql.Stmt // cancelSQL
	deleteParts     *sql.Stmt // the rows of an upload's parts
	deleteFile      *sql.Stmt // deleteFileSQL
	deleteFileParts *sql.Stmt // a file's list of parts
	markReleasing   *sql.Stmt // an upload's bytes_state, set to releasing
}

// prepare prepares the statements on db.
func (w *writeStatements) prepare(ctx context.Context, db *sql.DB) error {
	for _, st := range []struct {
		to  **sql.Stmt
		sql string
	}{
		{&w.cancel, cancelSQL},
		{&w.deleteParts, `DELETE FROM parts WHERE upload_id = ?`},
		{&w.deleteFile, deleteFileSQL},
		{&w.deleteFileParts, `DELETE FROM file_parts WHERE file_id = ?`},
		{&w.markReleasing, `UPDATE uploads SET bytes_state = ? WHERE id = ?`},
	} {
		var err error
		if *st.to, err = db.PrepareContext(ctx, st.sql); err != nil {
			return fmt.Errorf("prepare %q: %w", st.sql, err)
		}
	}
	return nil
}

// close closes the statements that were prepared.
func (w *writeStatements) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{w.cancel, w.deleteParts, w.deleteFile, w.deleteFileParts, w.markReleasing} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// uploadDir is the directory holding the part files of an upload.
func (s *Store) uploadDir(uploadID string) string { return filepath.Join(s.partsDir, uploadID) }

// partPath is the file holding the bytes of a part.
func (s *Store) partPath(uploadID, partID string) string {
	return filepath.Join(s.partsDir, uploadID, partID)
}
