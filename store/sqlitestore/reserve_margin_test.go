package sqlitestore

import (
	"fmt"
	"os"
	"testing"
)

// TestReserveWaitsForItsMargin: a missing reserve is made again only when the disk has room for it
// and a quarter more (10 MiB), so that making it never takes the last of the space. The disk's free
// space is given through the store's diskFree seam, at the edges of the margin and far from them.
func TestReserveWaitsForItsMargin(t *testing.T) {
	const margin = reserveBytes + reserveBytes/4
	for _, tt := range []struct {
		free int64
		made bool
	}{
		{0, false},
		{reserveBytes - reserveBytes/4, false}, // 6 MiB
		{reserveBytes, false},
		{margin - 1, false},
		{margin, true},
		{margin + 1, true},
		{4 * reserveBytes, true},
		{5*reserveBytes + 1, true}, // past 40 MiB
	} {
		t.Run(fmt.Sprint(tt.free), func(t *testing.T) {
			s := openTemp(t, t.TempDir())
			// Where the system's free space is not known, Open made no reserve.
			if err := os.Remove(s.reservePath()); err != nil && !os.IsNotExist(err) {
				t.Fatalf("remove the reserve: %v", err)
			}
			s.diskFree = func(string) (int64, error) { return tt.free, nil }
			if err := s.keepReserve(); err != nil {
				t.Fatalf("keepReserve with %d bytes free: %v", tt.free, err)
			}
			_, err := os.Stat(s.reservePath())
			if made := err == nil; made != tt.made {
				t.Errorf("with %d bytes free (margin %d) the reserve was made: %v, want %v", tt.free, margin, made, tt.made)
			}
			if s.reserveMissing.Load() == tt.made {
				t.Errorf("with %d bytes free the store counts its reserve missing: %v, want %v", tt.free, s.reserveMissing.Load(), !tt.made)
			}
			// FreeBytes counts a missing reserve as used.
			free, err := s.FreeBytes(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			want := tt.free
			if !tt.made {
				want = max(tt.free-reserveBytes, 0)
			}
			if free != want {
				t.Errorf("FreeBytes with %d bytes free and the reserve made %v = %d, want %d", tt.free, tt.made, free, want)
			}
		})
	}
}
