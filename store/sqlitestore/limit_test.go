package sqlitestore

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// apiMaxPart is the API's part size limit, 64 MiB: the official helper sends parts of exactly this
// size.
const apiMaxPart = 64 << 20

// block is what pattern repeats.
var block = func() []byte {
	b := make([]byte, 32<<10)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}()

// pattern yields an endless run of bytes and counts what it gave.
type pattern struct{ n int64 }

func (p *pattern) Read(b []byte) (int, error) {
	n := copy(b, block[p.n%int64(len(block)):])
	p.n += int64(n)
	return n, nil
}

// TestRealPartLimit: a part of exactly 64 MiB is kept, one byte more is refused after reading no
// more than one byte past the limit.
func TestRealPartLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 128 MiB; skipped with -short")
	}
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	u := mustCreate(t, s, apiMaxPart)

	src := &pattern{}
	_, err := s.AddPart(ctx, owner, u.ID, randomID("part_"), src, store.Limits{MaxPart: apiMaxPart}, store.At(t0))
	if !errors.Is(err, store.ErrPartTooLarge) {
		t.Fatalf("AddPart of an endless part = %v, want ErrPartTooLarge", err)
	}
	if src.n > apiMaxPart+1 {
		t.Errorf("AddPart read %d bytes, want at most %d", src.n, apiMaxPart+1)
	}

	p, err := s.AddPart(ctx, owner, u.ID, randomID("part_"),
		io.LimitReader(&pattern{}, apiMaxPart), store.Limits{MaxPart: apiMaxPart}, store.At(t0))
	if err != nil {
		t.Fatalf("AddPart of exactly 64 MiB: %v", err)
	}
	if p.Size != apiMaxPart {
		t.Errorf("part size = %d, want %d", p.Size, apiMaxPart)
	}
	if files := filesUnder(t, s.partsDir); len(files) != 1 {
		t.Errorf("files on disk: %v, want only the accepted part", files)
	}
}
