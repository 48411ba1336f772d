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

// BenchmarkListFiles lists 10,000 Files of one owner (among 20,000 in the store, created three to
// a second): in one page of 10,000, in 100 pages of 100 that follow the cursor, and one page of
// the half with a given purpose. Each page is one query.
func BenchmarkListFiles(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n = 10000
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 2 * n {
		who, purpose := owner, "batch"
		if i%2 == 1 {
			who = "someone-else"
		}
		if i%4 >= 2 {
			purpose = "fine-tune"
		}
		uploadID, fileID := fmt.Sprintf("upload_%08d", i), fmt.Sprintf("file-%08d", i)
		at := t0 + int64(i/6)
		if _, err := tx.ExecContext(ctx, `INSERT INTO uploads (id, owner, filename, purpose, mime_type, bytes,
			created_at, expires_at, file_expires_after, status, file_id) VALUES (?, ?, 'f.jsonl', ?, 'text/jsonl', 3, ?, ?, 0, 'completed', ?)`,
			uploadID, who, purpose, at, at+3600, fileID); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO files (id, owner, upload_id, filename, purpose, bytes, created_at)
			VALUES (?, ?, ?, 'f.jsonl', ?, 3, ?)`, fileID, who, uploadID, purpose, at); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	list := func(b *testing.B, q store.FileQuery, want int) {
		got := 0
		for {
			page, more, err := s.ListFiles(ctx, owner, q, t0)
			if err != nil {
				b.Fatal(err)
			}
			got += len(page)
			if !more {
				break
			}
			q.After = page[len(page)-1].ID
		}
		if got != want {
			b.Fatalf("listed %d Files, want %d", got, want)
		}
	}
	for _, c := range []struct {
		name string
		q    store.FileQuery
		want int
	}{
		{"one-page-of-10000", store.FileQuery{Limit: n, Desc: true}, n},
		{"100-pages-of-100", store.FileQuery{Limit: 100, Desc: true}, n},
		{"purpose-one-page", store.FileQuery{Limit: n, Desc: true, Purpose: "batch"}, n / 2},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				list(b, c.q, c.want)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(c.want), "ns/file")
		})
	}
}

// BenchmarkCancel cancels pending uploads of one part each, one at a time: as Cancel does
// (impl=now; the timing includes the background remover's work, waited for at the end) and as
// the cancel before group commit and the background remover did (impl=before, cancelAsBefore).
// Creating the uploads is setup and not timed.
func BenchmarkCancel(b *testing.B) {
	impls := []struct {
		name   string
		cancel func(context.Context, *Store, string) error
	}{
		{"before", func(ctx context.Context, s *Store, id string) error {
			_, err := cancelAsBefore(ctx, s, owner, id, t0)
			return err
		}},
		{"now", func(ctx context.Context, s *Store, id string) error {
			_, err := s.Cancel(ctx, owner, id, t0)
			return err
		}},
	}
	for _, impl := range impls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ids := make([]string, b.N)
			for i := range ids {
				ids[i], _ = benchUpload(b, s, 1, 1)
			}
			b.ResetTimer()
			for _, id := range ids {
				if err := impl.cancel(ctx, s, id); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Settle(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}
