package sqlitestore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// syncLog stands in for fsync: it records each sync with what could be seen at that moment,
// and fails the ones fail says.
type syncLog struct {
	mu     sync.Mutex
	events []string
	fail   func(event string) bool
}

func (l *syncLog) add(event string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, event)
	if l.fail != nil && l.fail(event) {
		return errors.New("injected sync failure")
	}
	return nil
}

func (l *syncLog) syncer(t *testing.T, partPath string) syncer {
	return syncer{
		file: func(f *os.File) error {
			info, err := f.Stat()
			if err != nil {
				t.Errorf("stat the file being synced: %v", err)
				return err
			}
			// What the sync makes durable must be the whole part, before any name leads to it.
			return l.add("file " + filepath.Base(f.Name()) + " size " + strconv.FormatInt(info.Size(), 10) + " linked " + yesNo(exists(t, partPath)))
		},
		dir: func(dir string) error {
			return l.add("dir " + filepath.Base(dir) + " linked " + yesNo(exists(t, partPath)))
		},
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// TestPartBytesAreSyncedBeforeTheyAreLinked checks what a SIGKILL cannot: that a part file's bytes
// are synced, all of them, before the file is linked at its name, and that the directory holding
// that name is synced after, before the part is recorded. A failed sync fails the part and leaves
// nothing behind.
func TestPartBytesAreSyncedBeforeTheyAreLinked(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t, t.TempDir())
	u := mustCreate(t, s, 300)
	partID := randomID("part_")
	path := s.partPath(u.ID, partID)
	log := &syncLog{}
	s.sync = log.syncer(t, path)

	data := strings.Repeat("durable ", 25) // 200 bytes
	if _, err := s.AddPart(ctx, owner, u.ID, partID, strings.NewReader(data), store.Limits{MaxPart: maxPart}, store.At(t0)); err != nil {
		t.Fatalf("AddPart: %v", err)
	}
	want := []string{
		"dir parts linked no", // the upload's directory entry, before the part is written
		"file " + tempPrefix + partID + "-",
		"dir " + u.ID + " linked yes",
	}
	if len(log.events) != len(want) {
		t.Fatalf("syncs %q, want %d: the parts directory, the part file, the upload's directory", log.events, len(want))
	}
	for i, ev := range log.events {
		if !strings.HasPrefix(ev, want[i]) {
			t.Errorf("sync %d is %q, want %q...", i+1, ev, want[i])
		}
	}
	if ev := log.events[1]; !strings.HasSuffix(ev, " size 200 linked no") {
		t.Errorf("the part file was synced as %q, want all 200 bytes synced before it is linked", ev)
	}

	for _, failing := range []string{"file", "dir " + u.ID} {
		t.Run("failing "+strings.Fields(failing)[0]+" sync", func(t *testing.T) {
			partID := randomID("part_")
			path := s.partPath(u.ID, partID)
			log := &syncLog{fail: func(ev string) bool { return strings.HasPrefix(ev, failing) }}
			s.sync = log.syncer(t, path)
			_, err := s.AddPart(ctx, owner, u.ID, partID, strings.NewReader("lost"), store.Limits{MaxPart: maxPart}, store.At(t0))
			if err == nil || !strings.Contains(err.Error(), "injected sync failure") {
				t.Fatalf("AddPart with a failing sync: %v, want the failure", err)
			}
			if exists(t, path) {
				t.Errorf("the part file is left at %s", path)
			}
			for _, name := range filesUnder(t, s.uploadDir(u.ID)) {
				if strings.Contains(name, partID) {
					t.Errorf("%s is left behind", name)
				}
			}
			_, _, err = s.Complete(ctx, owner, u.ID, []string{partID}, "", randomID("file-"), store.At(t0))
			if !errors.Is(err, store.ErrUnknownPart) {
				t.Errorf("Complete naming the failed part: %v, want ErrUnknownPart", err)
			}
		})
	}
}
