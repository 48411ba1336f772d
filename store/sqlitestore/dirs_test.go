package sqlitestore

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// A part whose upload was cancelled after it was found pending (so after the cancel removed the
// upload's directory) leaves no directory behind: writing it made the directory anew.
func TestPartRacingCancelLeavesNoDirectory(t *testing.T) {
	s := openTemp(t, t.TempDir())
	ctx := context.Background()
	for _, keep := range []bool{false, true} {
		u := mustCreate(t, s, 8)
		var kept store.Part
		if keep {
			kept = mustAddPart(t, s, u.ID, "keep")
		}
		if _, err := s.Cancel(ctx, owner, u.ID, t0); err != nil {
			t.Fatal(err)
		}
		// The cancel's files are removed in the background: the part below comes after that.
		settle(t, s)
		if _, err := os.Stat(s.uploadDir(u.ID)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the cancelled upload's directory is still there after the release (%v)", err)
		}
		_, err := s.storePart(ctx, owner, u.ID, randomID("part_"), strings.NewReader("late"),
			store.Limits{MaxPart: maxPart}, store.At(t0))
		var se *store.StateError
		if !errors.As(err, &se) || se.Status != store.StatusCancelled {
			t.Fatalf("a part recorded after a cancel: %v, want a StateError", err)
		}
		if _, err := os.Stat(s.uploadDir(u.ID)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the part directory of the cancelled upload is still there (%v; a part %q was recorded before)", err, kept.ID)
		}
	}
}
