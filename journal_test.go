package uploads

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store"
)

// A journal cut at any length, or with any byte flipped, yields its header and a prefix of its
// parts, or nothing usable: never a part that was not recorded.
func TestJournalTornOrCorruptNeverYieldsAWrongEntry(t *testing.T) {
	head := journalHeader{Version: journalVersion, UploadID: "upload_abc", ExpiresAt: 1, Filename: "a", Purpose: PurposeBatch,
		PartSize: 10, Source: source{Size: 100, Fingerprint: "f"}}
	recorded := map[int]string{0: "part_a", 3: "part_d", 7: "part_h"}
	order := []int{0, 3, 7}
	buf, err := appendRecord(nil, head)
	if err != nil {
		t.Fatal(err)
	}
	headerLen := len(buf)
	for _, i := range order {
		if buf, err = appendRecord(buf, journalPart{Index: i, ID: recorded[i]}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, data []byte) {
		t.Helper()
		h, parts, err := parseJournal(data)
		if err != nil {
			return
		}
		if h != head {
			t.Fatalf("%s: header %+v, want %+v", what, h, head)
		}
		for i, id := range parts {
			if recorded[i] != id {
				t.Fatalf("%s: part %d is %q, which was never recorded", what, i, id)
			}
		}
		// A prefix: the parts found are the first len(parts) recorded.
		for _, i := range order[:len(parts)] {
			if parts[i] == "" {
				t.Fatalf("%s: parts %v are not a prefix of the recorded ones", what, parts)
			}
		}
	}
	for n := range len(buf) + 1 {
		check("cut at "+strconv.Itoa(n), buf[:n])
		_, _, err := parseJournal(buf[:n])
		if (err == nil) != (n >= headerLen) {
			t.Errorf("cut at %d: err %v; the header is whole from %d bytes on", n, err, headerLen)
		}
	}
	for i := range buf {
		for _, bit := range []byte{0x01, 0x80} {
			c := bytes.Clone(buf)
			c[i] ^= bit
			check("bit flipped at "+strconv.Itoa(i), c)
		}
	}
	if _, parts, err := parseJournal(buf); err != nil || len(parts) != len(recorded) {
		t.Errorf("whole journal: %d parts, err %v; want %d parts", len(parts), err, len(recorded))
	}
}

// resumeFixture is a source file and a client of the reference server whose clock is the real one.
type resumeFixture struct {
	fs      *faultyServer
	c       *Client
	path    string
	data    []byte
	journal string
	events  []JournalEvent
}

func newResumeFixture(t *testing.T) *resumeFixture {
	fs := newFaultyServer(t, server.Faults{}, server.RateLimit{})
	fs.mu.Lock()
	fs.now = time.Now()
	fs.mu.Unlock()
	c, _ := fs.client(false, WithMaxRetries(0))
	c.progressInterval = 0 // every change reported, so that interrupt stops after a given part
	dir := t.TempDir()
	f := &resumeFixture{fs: fs, c: c, path: filepath.Join(dir, "data.jsonl"), data: testData(40 << 10), journal: filepath.Join(dir, "j", "data.journal")}
	if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *resumeFixture) params() UploadFileParams {
	return UploadFileParams{Purpose: PurposeBatch, PartSize: 4 << 10, Concurrency: 1, Journal: f.journal,
		OnJournal: func(ev JournalEvent) { f.events = append(f.events, ev) }}
}

// interrupt uploads until stopAfter parts are acknowledged, then cancels the context; the upload
// stays pending with its journal.
func (f *resumeFixture) interrupt(t *testing.T, stopAfter int) *UploadError {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := f.params()
	p.Progress = func(pr Progress) {
		if pr.PartsDone >= stopAfter {
			cancel()
		}
	}
	_, err := f.c.UploadFile(ctx, f.path, p)
	var upErr *UploadError
	if !errors.As(err, &upErr) || !upErr.Kept || upErr.Status != UploadStatusPending {
		t.Fatalf("interrupted upload: %v, want an *UploadError kept pending", err)
	}
	if got := f.fs.upload(upErr.UploadID).Status; got != store.StatusPending {
		t.Fatalf("interrupted upload is %s on the server, want pending", got)
	}
	if _, err := os.Stat(f.journal); err != nil {
		t.Fatalf("no journal after the interrupt: %v", err)
	}
	return upErr
}

// finish uploads to the end and checks the File's content and that the journal is gone.
func (f *resumeFixture) finish(t *testing.T) *Upload {
	t.Helper()
	up, err := f.c.UploadFile(context.Background(), f.path, f.params())
	if err != nil {
		t.Fatalf("resumed upload: %v", err)
	}
	body, err := f.c.DownloadFile(context.Background(), up.File.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	got, _ := io.ReadAll(body)
	if !bytes.Equal(got, f.data) {
		t.Fatalf("the File holds %d bytes that differ from the source", len(got))
	}
	if _, err := os.Stat(f.journal); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("journal left after completion: %v", err)
	}
	return up
}

func TestUploadFileResumesFromItsJournal(t *testing.T) {
	f := newResumeFixture(t)
	first := f.interrupt(t, 4)
	before, _ := f.fs.counts()
	up := f.finish(t)
	after, _ := f.fs.counts()
	// 6 parts, the complete and the download: no create, no part sent twice.
	if after-before != 8 {
		t.Errorf("the resumed upload made %d requests, want 8 (6 parts, complete, download)", after-before)
	}
	if up.ID != first.UploadID {
		t.Errorf("completed %s, want the resumed %s", up.ID, first.UploadID)
	}
	if len(f.events) != 1 || !f.events[0].Resumed || f.events[0].PartsSent != 4 || f.events[0].Parts != 10 {
		t.Errorf("events %+v, want one resume with 4 of 10 parts sent", f.events)
	}
}

func TestUploadFileResumeWithMD5(t *testing.T) {
	f := newResumeFixture(t)
	f.interrupt(t, 3)
	p := f.params()
	p.MD5 = true
	up, err := f.c.UploadFile(context.Background(), f.path, p)
	if err != nil {
		t.Fatalf("resumed upload with MD5: %v", err)
	}
	if up.Status != UploadStatusCompleted {
		t.Errorf("status %s", up.Status)
	}
}

// The same size and modification time, another first MiB: the fingerprint tells.
func TestUploadFileDoesNotResumeAChangedSource(t *testing.T) {
	f := newResumeFixture(t)
	first := f.interrupt(t, 4)
	info, _ := os.Stat(f.path)
	f.data[0] ^= 0xff
	if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(f.path, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	up := f.finish(t)
	if up.ID == first.UploadID {
		t.Fatal("the upload of the old content was resumed")
	}
	if len(f.events) != 1 || f.events[0].Resumed || f.events[0].Reason != "the file changed: its first or last MiB differs" {
		t.Errorf("events %+v, want one saying the file changed", f.events)
	}
	if got := f.fs.upload(first.UploadID).Status; got != store.StatusCancelled {
		t.Errorf("the abandoned upload is %s, want cancelled", got)
	}
}

func TestUploadFileDoesNotResumeWithOtherParams(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(*UploadFileParams)
		reason string
	}{
		{"part size", func(p *UploadFileParams) { p.PartSize = 8 << 10 }, "the part size is 8192 bytes, was 4096"},
		{"filename", func(p *UploadFileParams) { p.Filename = "other.jsonl" }, `the upload was created as "data.jsonl"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newResumeFixture(t)
			first := f.interrupt(t, 2)
			p := f.params()
			tt.change(&p)
			up, err := f.c.UploadFile(context.Background(), f.path, p)
			if err != nil {
				t.Fatal(err)
			}
			if up.ID == first.UploadID || len(f.events) != 1 || !strings.HasPrefix(f.events[0].Reason, tt.reason) {
				t.Errorf("upload %s (first %s), events %+v; want a new upload because %s", up.ID, first.UploadID, f.events, tt.reason)
			}
		})
	}
}

// An upload that expires within ResumeMargin, by the client's clock, is not resumed: half the
// margin, or four minutes of its five, is too little time to send the rest.
func TestUploadFileDoesNotResumeAnUploadAboutToExpire(t *testing.T) {
	for _, left := range []time.Duration{ResumeMargin / 2, 4 * time.Minute} {
		t.Run(left.String(), func(t *testing.T) {
			f := newResumeFixture(t)
			f.fs.mu.Lock()
			f.fs.now = time.Now().Add(-time.Hour + left) // the upload expires left from now
			f.fs.mu.Unlock()
			first := f.interrupt(t, 2)
			f.fs.mu.Lock()
			f.fs.now = time.Now()
			f.fs.mu.Unlock()
			up := f.finish(t)
			if up.ID == first.UploadID || len(f.events) != 1 || !strings.Contains(f.events[0].Reason, "too soon to resume") {
				t.Errorf("upload %s (first %s), events %+v; want a new upload, the first too close to expiry", up.ID, first.UploadID, f.events)
			}
		})
	}
}

func TestUploadFileStartsOverFromAnUnreadableJournal(t *testing.T) {
	f := newResumeFixture(t)
	f.interrupt(t, 2)
	if err := os.Truncate(f.journal, 20); err != nil {
		t.Fatal(err)
	}
	f.finish(t)
	if len(f.events) != 1 || !strings.HasPrefix(f.events[0].Reason, "the journal is unreadable: ") {
		t.Errorf("events %+v, want one saying the journal is unreadable", f.events)
	}
}

// Killed after the upload completed but before the journal was removed: the next call finds the
// File rather than making a second one.
func TestUploadFileJournalOfACompletedUpload(t *testing.T) {
	f := newResumeFixture(t)
	f.interrupt(t, 10) // every part sent and recorded; cancelled before Complete
	saved, err := os.ReadFile(f.journal)
	if err != nil {
		t.Fatal(err)
	}
	first := f.finish(t)
	if err := os.WriteFile(f.journal, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	again := f.finish(t)
	if again.ID != first.ID || again.File.ID != first.File.ID {
		t.Errorf("second call returned upload %s with File %s, want %s with %s", again.ID, again.File.ID, first.ID, first.File.ID)
	}
}

// A failure the API gives for good (a 4xx) cancels the upload and removes the journal, as without one.
func TestUploadFileJournalRemovedWhenTheAPIRefuses(t *testing.T) {
	f := newResumeFixture(t)
	first := f.interrupt(t, 2)
	if _, err := f.c.Cancel(context.Background(), first.UploadID); err != nil {
		t.Fatal(err)
	}
	// The journal's upload is cancelled: a new call says so and starts over.
	up := f.finish(t)
	if up.ID == first.UploadID || len(f.events) != 2 || f.events[1].Reason != "upload "+first.UploadID+" is cancelled" {
		t.Errorf("events %+v, want a resume then a new upload because the first was cancelled", f.events)
	}
}

// A failure that a new call may get past (here a 500 on every part) keeps the upload pending.
func TestUploadFileWithJournalKeepsTheUploadOnAServerError(t *testing.T) {
	dir := t.TempDir()
	var parts int
	fake := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/parts") {
			parts++
			writeJSON(w, http.StatusInternalServerError, []byte(`{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`))
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == "/v1/uploads" {
			writeJSON(w, http.StatusOK, []byte(`{"id":"upload_x","object":"upload","bytes":10,"created_at":1,"expires_at":4102444800,"filename":"a","purpose":"batch","status":"pending"}`))
			return
		}
		t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
	})
	c, _ := newTestClient(t, fake, specReport(t), WithMaxRetries(0))
	journal := filepath.Join(dir, "j")
	_, err := c.UploadReaderAt(context.Background(), bytes.NewReader(testData(10)), 10,
		UploadFileParams{Filename: "a", Purpose: PurposeBatch, Journal: journal})
	var upErr *UploadError
	if !errors.As(err, &upErr) || !upErr.Kept || upErr.Status != UploadStatusPending {
		t.Fatalf("err = %v, want an *UploadError kept pending", err)
	}
	if !strings.Contains(err.Error(), "its journal lets a new call resume it") {
		t.Errorf("error %q does not say the upload can be resumed", err)
	}
	if _, err := os.Stat(journal); err != nil {
		t.Errorf("journal: %v", err)
	}
}
