package uploads

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// syncLog records what a journal made durable, through the sync seam, and can make file syncs fail.
type syncLog struct {
	mu     sync.Mutex
	synced []string // the names synced, in order
	fail   error    // returned for regular files when set
}

func (l *syncLog) sync(f *os.File) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.synced = append(l.synced, f.Name())
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && l.fail != nil {
		return l.fail
	}
	return f.Sync()
}

func syncHead() journalHeader {
	return journalHeader{Version: journalVersion, UploadID: "upload_abc", ExpiresAt: 1, Filename: "a", Purpose: PurposeBatch,
		PartSize: 10, Source: source{Size: 100, Fingerprint: "f"}}
}

// A journal is durable before it is used: its temporary file is synced with its bytes before the
// rename, the directory after it, and each recorded part is synced as it is appended.
func TestJournalSyncsWhatItWrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "j")
	path := filepath.Join(dir, "a.journal")
	var l syncLog
	j, err := createJournalWith(path, syncHead(), map[int]string{0: "part_a"}, l.sync)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	if len(l.synced) != 2 || !strings.HasPrefix(l.synced[0], path+".") || !strings.HasSuffix(l.synced[0], ".tmp") || l.synced[1] != dir {
		t.Fatalf("creating the journal synced %q; want its temporary file, then its directory %s", l.synced, dir)
	}
	if err := j.record(1, "part_b"); err != nil {
		t.Fatal(err)
	}
	if len(l.synced) != 3 || l.synced[2] != path {
		t.Errorf("recording a part synced %q; want the journal %s third", l.synced, path)
	}
}

// A journal whose file cannot be made durable is not created: the error says so, and no journal is
// left at its path, even though closing the file succeeds.
func TestJournalWhoseSyncFailsIsNotCreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.journal")
	broken := errors.New("the disk lost the write")
	l := syncLog{fail: broken}
	j, err := createJournalWith(path, syncHead(), nil, l.sync)
	if err == nil {
		j.close()
		t.Fatal("a journal whose sync failed was created")
	}
	if !errors.Is(err, broken) {
		t.Errorf("error %v, want one wrapping the failed sync", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a journal is at %s after its sync failed: %v", path, err)
	}
	left, _ := filepath.Glob(path + ".*")
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
