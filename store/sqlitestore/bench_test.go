package sqlitestore

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// BenchmarkComplete compares completing an upload by reference, as the store does, with what
// completing by copy would cost: the same completion plus writing the parts, in order, into one
// new synced file. Part writing is setup and not timed.
func BenchmarkComplete(b *testing.B) {
	for _, size := range []int64{1 << 20, 16 << 20, 64 << 20} {
		const parts = 4
		for _, mode := range []string{"reference", "copy"} {
			b.Run(fmt.Sprintf("%s/%dMiB", mode, size>>20), func(b *testing.B) {
				ctx := context.Background()
				s, err := Open(ctx, b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				b.SetBytes(size)
				for range b.N {
					b.StopTimer()
					uploadID, partIDs := benchUpload(b, s, size, parts)
					b.StartTimer()
					_, f, err := s.Complete(ctx, owner, uploadID, partIDs, "", randomID("file-"), store.At(t0))
					if err != nil {
						b.Fatal(err)
					}
					if mode == "copy" {
						copyFile(b, s, f.ID, filepath.Join(s.dir, f.ID))
					}
				}
			})
		}
	}
}

// benchUpload creates an upload of size bytes in n equal parts.
func benchUpload(b *testing.B, s *Store, size int64, n int) (string, []string) {
	b.Helper()
	u := store.Upload{ID: randomID("upload_"), Owner: owner, Filename: "f", Purpose: "batch", MIMEType: "text/plain",
		Bytes: size, CreatedAt: t0, ExpiresAt: t0 + 3600, Status: store.StatusPending}
	if err := s.CreateUpload(context.Background(), u); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		p, err := s.AddPart(context.Background(), owner, u.ID, randomID("part_"),
			io.LimitReader(&pattern{}, size/int64(n)), store.Limits{MaxPart: size}, store.At(t0))
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = p.ID
	}
	return u.ID, ids
}

// copyFile writes the content of a file into a new synced file at path, as a store completing by
// copy would.
func copyFile(b *testing.B, s *Store, fileID, path string) {
	b.Helper()
	_, rc, err := s.OpenFile(context.Background(), owner, fileID, t0)
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, rc); err != nil {
		b.Fatal(err)
	}
	if err := out.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
}
