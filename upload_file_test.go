package uploads

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testData is n reproducible pseudo-random bytes.
func testData(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func newFakeUploads(t *testing.T) (*fakeUploads, *fakeAPI) {
	t.Helper()
	fu := &fakeUploads{t: t}
	return fu, newFakeAPI(t, fu.handler)
}

func TestUploadReaderAtSendsEveryPartAndCompletes(t *testing.T) {
	data := testData(1_000_003)
	fu, f := newFakeUploads(t)
	var failedOnce atomic.Bool
	fu.partHook = func(r *http.Request) bool { return !failedOnce.CompareAndSwap(false, true) } // the first attempt fails
	c, _ := newTestClient(t, f, nil)
	c.progressInterval = 0 // every change reported, the bytes taken back included

	var mu sync.Mutex
	var seen []Progress
	up, err := c.UploadReaderAt(t.Context(), bytes.NewReader(data), int64(len(data)), UploadFileParams{
		Filename:     "train.jsonl",
		Purpose:      PurposeFineTune,
		PartSize:     150_000,
		Concurrency:  3,
		MD5:          true,
		ExpiresAfter: 48 * time.Hour,
		Progress: func(p Progress) {
			mu.Lock()
			seen = append(seen, p)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("UploadReaderAt: %v", err)
	}
	file, sum, cancels, status := fu.snapshot()
	if !bytes.Equal(file, data) {
		t.Fatalf("the server reassembled %d bytes that differ from the %d sent", len(file), len(data))
	}
	want := md5.Sum(data)
	if sum != hex.EncodeToString(want[:]) {
		t.Errorf("md5 sent = %q, want %x", sum, want)
	}
	if cancels != 0 || status != UploadStatusCompleted {
		t.Errorf("%d cancels, status %q; want 0, completed", cancels, status)
	}
	if up.Status != UploadStatusCompleted || up.File == nil || up.File.Bytes != int64(len(data)) {
		t.Errorf("UploadReaderAt returned %+v with file %+v", up, up.File)
	}
	if fu.created.MIMEType != "text/jsonl" || fu.created.Bytes != int64(len(data)) || fu.expires != 48*3600 {
		t.Errorf("created with %+v, expires after %d s", fu.created, fu.expires)
	}
	if fu.maxPar > 3 || fu.maxPar < 1 {
		t.Errorf("%d parts were in flight at once, want 1 to 3", fu.maxPar)
	}
	if n := countPaths(f.requests(), "/parts"); n != 7+1 {
		t.Errorf("%d part requests, want 7 parts and one retry", n)
	}
	last := seen[len(seen)-1]
	if last.Sent != int64(len(data)) || last.Total != int64(len(data)) || last.PartsDone != 7 || last.Parts != 7 || last.UploadID != fakeUploadID {
		t.Errorf("last progress = %+v", last)
	}
	wentBack := false
	for i := 1; i < len(seen); i++ {
		if seen[i].Sent < seen[i-1].Sent {
			wentBack = true
		}
		if seen[i].Sent > int64(len(data)) || seen[i].PartsDone < seen[i-1].PartsDone {
			t.Fatalf("progress %+v after %+v", seen[i], seen[i-1])
		}
	}
	if !wentBack {
		t.Errorf("progress never took back the bytes of the failed attempt")
	}
}

func TestUploadFileFromPath(t *testing.T) {
	data := testData(10_000)
	path := filepath.Join(t.TempDir(), "notes.pdf")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fu, f := newFakeUploads(t)
	c, _ := newTestClient(t, f, nil)
	up, err := c.UploadFile(t.Context(), path, UploadFileParams{Purpose: PurposeUserData})
	if err != nil {
		t.Fatalf("UploadFile: %v", err)
	}
	file, sum, _, _ := fu.snapshot()
	if !bytes.Equal(file, data) || sum != "" {
		t.Errorf("server got %d bytes and md5 %q; want the file and no md5", len(file), sum)
	}
	if up.Filename != "notes.pdf" || fu.created.MIMEType != "application/pdf" || fu.created.Purpose != PurposeUserData {
		t.Errorf("created %+v", fu.created)
	}
	if n := countPaths(f.requests(), "/parts"); n != 1 {
		t.Errorf("%d parts for a small file, want 1", n)
	}
}

// shortReaderAt claims more bytes than it has.
type shortReaderAt struct{ *bytes.Reader }

// failingReaderAt cannot be read at all.
type failingReaderAt struct{}

func (failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, errors.New("disk on fire") }

func TestUploadFileChecksLimitsBeforeSending(t *testing.T) {
	small := bytes.NewReader([]byte("hello"))
	good := UploadFileParams{Filename: "a.jsonl", Purpose: PurposeBatch}
	with := func(change func(*UploadFileParams)) UploadFileParams { p := good; change(&p); return p }
	tests := []struct {
		name string
		r    interface {
			ReadAt([]byte, int64) (int, error)
		}
		size int64
		p    UploadFileParams
		want string
	}{
		{"empty input", small, 0, good, "size"},
		{"over 8 GiB", zeroReaderAt{}, MaxUploadSize + 1, good, "size"},
		{"part size over 64 MiB", small, 5, with(func(p *UploadFileParams) { p.PartSize = MaxPartSize + 1 }), "part size"},
		{"negative part size", small, 5, with(func(p *UploadFileParams) { p.PartSize = -1 }), "part size"},
		{"negative concurrency", small, 5, with(func(p *UploadFileParams) { p.Concurrency = -2 }), "concurrency"},
		{"no filename", small, 5, with(func(p *UploadFileParams) { p.Filename = "" }), "filename"},
		{"no purpose", small, 5, with(func(p *UploadFileParams) { p.Purpose = "" }), "purpose"},
		{"bad expiry", small, 5, with(func(p *UploadFileParams) { p.ExpiresAfter = time.Second }), "expires after"},
		{"size larger than the input", shortReaderAt{bytes.NewReader([]byte("hello"))}, 6, good, "shorter than 6 bytes"},
		{"unreadable input", failingReaderAt{}, 6, good, "disk on fire"},
	}
	fu, f := newFakeUploads(t)
	c, _ := newTestClient(t, f, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.UploadReaderAt(t.Context(), tt.r, tt.size, tt.p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("UploadReaderAt: got %v, want an error about %s", err, tt.want)
			}
		})
	}
	if _, err := c.UploadReaderAt(t.Context(), nil, 5, good); err == nil {
		t.Errorf("UploadReaderAt of a nil reader succeeded")
	}
	if _, err := c.UploadFile(t.Context(), filepath.Join(t.TempDir(), "missing.jsonl"), good); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("UploadFile of a missing file: got %v, want os.ErrNotExist", err)
	}
	if _, err := c.UploadFile(t.Context(), t.TempDir(), good); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("UploadFile of a directory: got %v", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
	_ = fu
}

func TestUploadPartFailureCancelsOnce(t *testing.T) {
	data := testData(300_000)
	fu, f := newFakeUploads(t)
	fu.partHook = func(r *http.Request) bool { return false }
	c, rec := newTestClient(t, f, nil)
	_, err := c.UploadReaderAt(t.Context(), bytes.NewReader(data), int64(len(data)), UploadFileParams{
		Filename: "a.jsonl", Purpose: PurposeFineTune, PartSize: 100_000, Concurrency: 2,
	})
	var ue *UploadError
	if !errors.As(err, &ue) || !ue.Cancelled() || ue.UploadID != fakeUploadID {
		t.Fatalf("UploadReaderAt: got %v, want an UploadError for a cancelled upload", err)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
		t.Errorf("the error does not wrap the part's APIError: %v", err)
	}
	for _, s := range []string{"upload a.jsonl (" + fakeUploadID + ")", "part ", "gave up after 3 attempts", "the upload was cancelled"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	_, _, cancels, status := fu.snapshot()
	if cancels != 1 || status != UploadStatusCancelled {
		t.Errorf("%d cancels, status %q; want exactly 1, cancelled", cancels, status)
	}
	if n := countPaths(f.requests(), "/complete"); n != 0 {
		t.Errorf("%d complete calls after a failure", n)
	}
	if len(rec.recorded()) == 0 {
		t.Errorf("the failing part was not retried")
	}
}

func TestUploadContextCancellationCancelsOnce(t *testing.T) {
	data := testData(400_000)
	fu, f := newFakeUploads(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fu.partHook = func(r *http.Request) bool {
		cancel() // the caller gives up while a part is on its way
		// and the client drops the request; the server notices once it has read the body.
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		return false
	}
	c, _ := newTestClient(t, f, nil)
	_, err := c.UploadReaderAt(ctx, bytes.NewReader(data), int64(len(data)), UploadFileParams{
		Filename: "a.jsonl", Purpose: PurposeFineTune, PartSize: 100_000, MD5: true,
	})
	var ue *UploadError
	if !errors.As(err, &ue) || !ue.Cancelled() || !errors.Is(err, context.Canceled) {
		t.Fatalf("UploadReaderAt: got %v, want a context.Canceled UploadError with the upload cancelled", err)
	}
	_, _, cancels, status := fu.snapshot()
	if cancels != 1 || status != UploadStatusCancelled {
		t.Errorf("%d cancels, status %q; want exactly 1, cancelled", cancels, status)
	}
}

func TestUploadSaysWhenTheCancelFailed(t *testing.T) {
	data := testData(1000)
	fu := &fakeUploads{t: t, partHook: func(*http.Request) bool { return false }}
	var cancels atomic.Int32
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/cancel") {
			cancels.Add(1)
			writeJSON(w, http.StatusNotFound, fixture(t, "error-404-not-found.json"))
			return
		}
		fu.handler(w, r)
	})
	c, _ := newTestClient(t, f, nil, WithMaxRetries(0))
	_, err := c.UploadReaderAt(t.Context(), bytes.NewReader(data), int64(len(data)), UploadFileParams{Filename: "a.jsonl", Purpose: PurposeFineTune})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.Cancelled() || !IsNotFound(ue.CancelErr) {
		t.Fatalf("UploadReaderAt: got %v, want an UploadError whose cancel failed with 404", err)
	}
	if !strings.Contains(err.Error(), "whether the upload was cancelled is unknown") || IsNotFound(err) {
		t.Errorf("error %q: the cause must be the part's failure, and say the cancel failed", err)
	}
	if cancels.Load() != 1 {
		t.Errorf("%d cancel calls, want 1", cancels.Load())
	}
}

func TestGuessMIMEType(t *testing.T) {
	tests := map[string]string{
		"train.jsonl": "text/jsonl", "A.JSONL": "text/jsonl", "x.json": "application/json", "r.txt": "text/plain",
		"p.pdf": "application/pdf", "i.PNG": "image/png", "noext": "application/octet-stream", "dir.d/f.jpeg": "image/jpeg",
	}
	for name, want := range tests {
		if got := GuessMIMEType(name); got != want {
			t.Errorf("GuessMIMEType(%q) = %q, want %q", name, got, want)
		}
	}
}
