//go:build linux || darwin || freebsd

package sqlitestore

import (
	"context"
	"os"
	"syscall"
	"testing"
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
