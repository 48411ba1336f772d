package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// endless yields bytes for ever and counts them; it fails the read once far past any limit, so a
// store that reads without bound fails the test instead of hanging.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	if e.n > 16*MaxPartSize {
		return 0, errors.New("read far past the part size limit")
	}
	for i := range p {
		p[i] = 'z'
	}
	e.n += int64(len(p))
	return len(p), nil
}

func testPartSizeLimit(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := createUpload(t, s, alice, MaxPartSize, t0)

	big := newPartID()
	_, err := s.AddPart(ctx, alice, u.ID, big, bytes.NewReader(make([]byte, MaxPartSize+1)), store.Limits{MaxPart: MaxPartSize}, store.At(t0))
	wantErrorIs(t, err, store.ErrPartTooLarge)

	src := &endless{}
	endlessPart := newPartID()
	_, err = s.AddPart(ctx, alice, u.ID, endlessPart, src, store.Limits{MaxPart: MaxPartSize}, store.At(t0))
	wantErrorIs(t, err, store.ErrPartTooLarge)
	if src.n > MaxPartSize+1 {
		t.Errorf("AddPart read %d bytes of an endless part, want at most %d", src.n, MaxPartSize+1)
	}

	exact := strings.Repeat("e", MaxPartSize)
	p, err := s.AddPart(ctx, alice, u.ID, newPartID(), strings.NewReader(exact), store.Limits{MaxPart: MaxPartSize}, store.At(t0+5))
	if err != nil {
		t.Fatalf("AddPart of exactly the limit: %v", err)
	}
	if p.Size != MaxPartSize || p.UploadID != u.ID || p.CreatedAt != t0+5 {
		t.Errorf("AddPart returned %+v, want size %d, upload %s, created_at %d", p, MaxPartSize, u.ID, t0+5)
	}

	// Nothing of the refused parts was recorded.
	for _, refused := range []string{big, endlessPart} {
		_, _, err := s.Complete(ctx, alice, u.ID, []string{p.ID, refused}, "", newFileID(), store.At(t0))
		var pe *store.PartError
		if !errors.As(err, &pe) || pe.PartID != refused || !errors.Is(err, store.ErrUnknownPart) {
			t.Errorf("Complete naming the refused part %s: error = %v, want ErrUnknownPart for it", refused, err)
		}
	}
	complete(t, s, u.ID, []string{p.ID}, t0)
}

func testPartsOnlyWhilePending(t *testing.T, s store.Store) {
	ctx := context.Background()
	cases := []struct {
		name  string
		setup func(t *testing.T) store.Upload // leaves the upload not pending at t0+100
		want  store.Status
	}{
		{"cancelled", func(t *testing.T) store.Upload {
			u, _ := uploadWithParts(t, s, t0, "ab")
			if _, err := s.Cancel(ctx, alice, u.ID, t0); err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			return u
		}, store.StatusCancelled},
		{"completed", func(t *testing.T) store.Upload {
			u, parts := uploadWithParts(t, s, t0, "ab")
			complete(t, s, u.ID, parts, t0)
			return u
		}, store.StatusCompleted},
		{"expired", func(t *testing.T) store.Upload {
			u, _ := uploadWithParts(t, s, t0-3600+100, "ab")
			return u
		}, store.StatusExpired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := c.setup(t)
			_, err := s.AddPart(ctx, alice, u.ID, newPartID(),
				strings.NewReader("cd"), store.Limits{MaxPart: MaxPartSize}, store.At(t0+100))
			wantStateError(t, err, u.ID, c.want)
			var se *store.StateError
			errors.As(err, &se)
			if se.Op == "" {
				t.Errorf("StateError %+v names no operation", se)
			}
			if got := getUpload(t, s, u.ID, t0+100).Status; got != c.want {
				t.Errorf("status after the refused part = %s, want %s", got, c.want)
			}
		})
	}
	// A completed file is unchanged by a refused part.
	u, parts := uploadWithParts(t, s, t0, "xy")
	_, f := complete(t, s, u.ID, parts, t0)
	s.AddPart(ctx, alice, u.ID, newPartID(), strings.NewReader("zz"), store.Limits{MaxPart: MaxPartSize}, store.At(t0))
	if got := readFile(t, s, alice, f.ID); got != "xy" {
		t.Errorf("file content = %q, want %q", got, "xy")
	}
}

// testConcurrentParts: many parts of one upload arrive at once, all are kept, and the file is
// their content in the order completion names them.
func testConcurrentParts(t *testing.T, s store.Store) {
	const n = 32
	datas := make([]string, n)
	var want strings.Builder
	for i := range datas {
		datas[i] = fmt.Sprintf("part %02d %s|", i, strings.Repeat(string(rune('a'+i%26)), i*7))
		want.WriteString(datas[i])
	}
	u := createUpload(t, s, alice, int64(want.Len()), t0)
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range datas {
		wg.Go(func() {
			p, err := s.AddPart(context.Background(), alice, u.ID, newPartID(),
				strings.NewReader(datas[i]), store.Limits{MaxPart: MaxPartSize}, store.At(t0))
			ids[i], errs[i] = p.ID, err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("AddPart %d: %v", i, err)
		}
	}
	_, f, err := s.Complete(context.Background(), alice, u.ID, ids, md5Hex(want.String()), newFileID(), store.At(t0))
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if got := readFile(t, s, alice, f.ID); got != want.String() {
		t.Errorf("file content = %q, want %q", got, want.String())
	}
}
