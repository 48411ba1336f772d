package sqlitestore

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// TestAddPartLimitZero: a limit of zero bytes is a limit, not an error: an empty part fits it, a
// byte is too many. Only a negative limit is refused as a mistake of the caller.
func TestAddPartLimitZero(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	u := mustCreate(t, s, 1)
	p, err := s.AddPart(ctx, owner, u.ID, randomID("part_"), strings.NewReader(""), store.Limits{MaxPart: 0}, store.At(t0))
	if err != nil || p.Size != 0 {
		t.Errorf("AddPart of an empty part with limit 0 = %+v, %v; want a part of 0 bytes", p, err)
	}
	if _, err := s.AddPart(ctx, owner, u.ID, randomID("part_"), strings.NewReader("x"), store.Limits{MaxPart: 0}, store.At(t0)); !errors.Is(err, store.ErrPartTooLarge) {
		t.Errorf("AddPart of a byte with limit 0: %v, want ErrPartTooLarge", err)
	}
	if _, err := s.AddPart(ctx, owner, u.ID, randomID("part_"), strings.NewReader(""), store.Limits{MaxPart: -1}, store.At(t0)); err == nil || errors.Is(err, store.ErrPartTooLarge) {
		t.Errorf("AddPart with limit -1: %v, want an error about the limit", err)
	}
}
