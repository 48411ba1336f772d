package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"modernc.org/sqlite"

	"github.com/uploadkit/uploads/store"
)

// A full disk must not wedge the store: releasing bytes (a cancel, the sweeper) begins with a
// database write, and SQLite needs a little room for it (pages of its write-ahead log). The store
// keeps that room set aside: a reserve file of reserveBytes in its directory. A write that frees
// space and fails for lack of it removes the reserve and runs again; the reserve is made anew once
// there is room for it, and until then FreeBytes counts it as used.

// reserveName is the reserve file, in the store's directory.
const reserveName = "space-reserve"

// reserveBytes is the size of the reserve: room for the database writes of many cancels and
// sweeps, whose pages are a few KiB each.
const reserveBytes = 8 << 20

// sqliteFull is SQLite's primary result code SQLITE_FULL: "database or disk is full".
const sqliteFull = 13

// isNoSpace reports whether err says the disk (or the database) is full.
func isNoSpace(err error) bool {
	if errors.Is(err, store.ErrNoSpace) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return true
	}
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqliteFull
}

// noSpace makes an error that says the disk is full wrap store.ErrNoSpace, and returns any other
// as it is.
func noSpace(err error) error {
	if err == nil || errors.Is(err, store.ErrNoSpace) || !isNoSpace(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrNoSpace, err)
}

// freeing runs fn, a write on the way to freeing space. When it fails for lack of space, the
// reserve is given up and fn runs once more.
func (s *Store) freeing(fn func() error) error {
	err := fn()
	if err == nil || !isNoSpace(err) {
		return err
	}
	if !s.dropReserve() {
		return err
	}
	return fn()
}

// reservePath is the path of the reserve file.
func (s *Store) reservePath() string { return filepath.Join(s.dir, reserveName) }

// dropReserve removes the reserve file, and reports whether there was one.
func (s *Store) dropReserve() bool {
	s.reserveMu.Lock()
	defer s.reserveMu.Unlock()
	err := os.Remove(s.reservePath())
	if err == nil {
		s.reserveMissing.Store(true)
	}
	return err == nil
}

// keepReserve makes the reserve file when it is missing and the disk has room for it and a quarter
// more. It is called at Open, after a cancel and each sweep, and by FreeBytes, so the store
// recovers by itself.
func (s *Store) keepReserve() error {
	s.reserveMu.Lock()
	defer s.reserveMu.Unlock()
	path := s.reservePath()
	if fi, err := os.Stat(path); err == nil && fi.Size() == reserveBytes {
		s.reserveMissing.Store(false)
		return nil
	}
	s.reserveMissing.Store(true)
	// A reserve being made when the process died.
	if stale, err := filepath.Glob(filepath.Join(s.dir, reserveName+"-*")); err == nil {
		for _, p := range stale {
			os.Remove(p)
		}
	}
	free, err := s.diskFree(s.dir)
	if err != nil {
		return err
	}
	if free < reserveBytes+reserveBytes/4 {
		return nil // not yet
	}
	tmp, err := os.CreateTemp(s.dir, reserveName+"-*")
	if err != nil {
		return fmt.Errorf("make the space reserve: %w", err)
	}
	defer os.Remove(tmp.Name())
	// Blocks allocated, not a hole: a sparse file would hold no room at all. It is not synced: a
	// reserve lost in a crash is made again at Open.
	if err := allocate(tmp, reserveBytes); err != nil {
		tmp.Close()
		return fmt.Errorf("make the space reserve: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("make the space reserve: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("make the space reserve: %w", err)
	}
	s.reserveMissing.Store(false)
	return nil
}

// FreeBytes reports the bytes free for new data on the store's disk: what the filesystem has free
// for an unprivileged writer, less the reserve when it has been used and not yet made anew.
func (s *Store) FreeBytes(ctx context.Context) (int64, error) {
	if s.reserveMissing.Load() {
		_ = s.keepReserve() // a failure leaves it missing, and counted
	}
	free, err := s.diskFree(s.dir)
	if err != nil {
		return 0, fmt.Errorf("free space of %s: %w", s.dir, err)
	}
	if s.reserveMissing.Load() {
		free -= reserveBytes
	}
	return max(free, 0), nil
}

// writeZeros allocates size bytes for f by writing zeros: where the system has no cheaper way.
func writeZeros(f *os.File, size int64) error {
	_, err := io.CopyN(f, zeros{}, size)
	return err
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
