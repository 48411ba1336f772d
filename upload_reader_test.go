package uploads

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestUploadReaderStreamsEveryPartAndCompletes(t *testing.T) {
	data := testData(1_000_003)
	fu, f := newFakeUploads(t)
	var failedOnce atomic.Bool
	fu.partHook = func(r *http.Request) bool { return !failedOnce.CompareAndSwap(false, true) } // the first attempt fails
	c, _ := newTestClient(t, f, nil)
	var last Progress
	// plainReader: a stream that can be neither rewound nor read at an offset.
	up, err := c.UploadReader(t.Context(), plainReader{bytes.NewReader(data)}, int64(len(data)), UploadFileParams{
		Filename: "train.jsonl", Purpose: PurposeFineTune, PartSize: 150_000, Concurrency: 3, MD5: true,
		Progress: func(p Progress) { last = p },
	})
	if err != nil {
		t.Fatalf("UploadReader: %v", err)
	}
	file, sum, cancels, status := fu.snapshot()
	if !bytes.Equal(file, data) {
		t.Fatalf("the server reassembled %d bytes that differ from the %d sent", len(file), len(data))
	}
	if want := md5.Sum(data); sum != hex.EncodeToString(want[:]) {
		t.Errorf("md5 sent = %q, want %x", sum, want)
	}
	if cancels != 0 || status != UploadStatusCompleted || up.File == nil {
		t.Errorf("%d cancels, status %q, file %v; want 0, completed, a File", cancels, status, up.File)
	}
	if n := countPaths(f.requests(), "/parts"); n != 7+1 {
		t.Errorf("%d part requests, want 7 parts and one retry from the part's buffer", n)
	}
	if fu.maxPar > 3 {
		t.Errorf("%d parts were in flight at once, want at most 3", fu.maxPar)
	}
	if last.Sent != int64(len(data)) || last.PartsDone != 7 {
		t.Errorf("last progress = %+v", last)
	}
}

func TestUploadReaderRefusesAStreamOfTheWrongSize(t *testing.T) {
	data := testData(250_000)
	tests := []struct {
		name string
		size int64
		want string
	}{
		{"shorter", 300_000, "input ended after 250000 of 300000 bytes"},
		{"shorter within a part", 260_000, "input ended after 250000 of 260000 bytes"},
		{"longer", 200_000, "input is longer than the size given: more than 200000 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The failure cuts short the parts in flight: an API that does not mind.
			f := newFakeAPI(t, discardParts(t))
			c, _ := newTestClient(t, f, nil)
			_, err := c.UploadReader(t.Context(), plainReader{bytes.NewReader(data)}, tt.size, UploadFileParams{
				Filename: "a.jsonl", Purpose: PurposeBatch, PartSize: 100_000,
			})
			var ue *UploadError
			if !errors.As(err, &ue) || !ue.Cancelled() || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("UploadReader: got %v, want a cancelled upload that says %q", err, tt.want)
			}
			if n := countPaths(f.requests(), "/complete"); n != 0 {
				t.Errorf("%d complete calls for a stream of the wrong size", n)
			}
			if cancels := countPaths(f.requests(), "/cancel"); cancels != 1 {
				t.Errorf("%d cancels, want 1", cancels)
			}
		})
	}
}

func TestUploadReaderChecksItsArguments(t *testing.T) {
	_, f := newFakeUploads(t)
	c, _ := newTestClient(t, f, nil)
	ok := UploadFileParams{Filename: "a.jsonl", Purpose: PurposeBatch}
	for _, tt := range []struct {
		name string
		r    io.Reader
		size int64
		p    func(UploadFileParams) UploadFileParams
	}{
		{"nil reader", nil, 10, func(p UploadFileParams) UploadFileParams { return p }},
		{"no size", strings.NewReader("x"), 0, func(p UploadFileParams) UploadFileParams { return p }},
		{"no filename", strings.NewReader("x"), 1, func(p UploadFileParams) UploadFileParams { p.Filename = ""; return p }},
		{"part too large", strings.NewReader("x"), 1, func(p UploadFileParams) UploadFileParams { p.PartSize = MaxPartSize + 1; return p }},
		{"no purpose", strings.NewReader("x"), 1, func(p UploadFileParams) UploadFileParams { p.Purpose = ""; return p }},
	} {
		var invalid *InvalidParamError
		if _, err := c.UploadReader(t.Context(), tt.r, tt.size, tt.p(ok)); !errors.As(err, &invalid) {
			t.Errorf("%s: got %v, want an InvalidParamError", tt.name, err)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests for refused arguments, want none", n)
	}
}

func TestUploadReaderReturnsWhileAReadBlocks(t *testing.T) {
	fu, f := newFakeUploads(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	fu.partHook = func(r *http.Request) bool {
		cancel()     // the first part arrived; the stream has nothing more yet, and the caller gives up
		return false // answer 500 without reading the form: the caller is gone, whatever the answer
	}
	c, _ := newTestClient(t, f, nil)
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write(make([]byte, 100_000)) // one part, and then the writer falls silent
	_, err := c.UploadReader(ctx, pr, 1_000_000, UploadFileParams{Filename: "a.jsonl", Purpose: PurposeBatch, PartSize: 100_000})
	var ue *UploadError
	if !errors.As(err, &ue) || !ue.Cancelled() || !errors.Is(err, context.Canceled) {
		t.Fatalf("UploadReader: got %v, want a cancelled upload after the context ended", err)
	}
}

// discardParts is an API that reads and drops every part, so that what a test measures is the
// client's memory, not the server's.
func discardParts(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/parts"):
			io.Copy(io.Discard, r.Body)
			writeJSON(w, http.StatusOK, fixture(t, "add-part-200.json"))
		case strings.HasSuffix(r.URL.Path, "/complete"):
			writeJSON(w, http.StatusOK, fixture(t, "complete-200.json"))
		case strings.HasSuffix(r.URL.Path, "/cancel"):
			writeJSON(w, http.StatusOK, fixture(t, "cancel-200.json"))
		default:
			writeJSON(w, http.StatusOK, fixture(t, "create-200.json"))
		}
	}
}

// countingReader is a stream of n bytes that counts what was read from it.
type countingReader struct {
	n, read int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.read >= r.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n-r.read)
	clear(p[:k])
	r.read += k
	return int(k), nil
}

func TestUploadReaderMemoryIsBoundedByItsPool(t *testing.T) {
	const (
		size        = 64 << 20
		partSize    = 1 << 20
		concurrency = 2
	)
	f := newFakeAPI(t, discardParts(t))
	c, _ := newTestClient(t, f, func(error) {}, WithTimeout(time.Minute))
	src := &countingReader{n: size}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := c.UploadReader(t.Context(), src, size, UploadFileParams{
		Filename: "a.jsonl", Purpose: PurposeBatch, PartSize: partSize, Concurrency: concurrency,
	})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("UploadReader: %v", err)
	}
	if src.read != size {
		t.Fatalf("read %d bytes of the stream, want %d", src.read, size)
	}
	// Everything this process allocated while 64 MiB went through it, the test server's side
	// included: the pool (2 MiB) and the per-request small change, far from a buffer per part.
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d MiB allocated", allocated>>20)
	if bound := uint64(concurrency*partSize + 16<<20); allocated > bound {
		t.Errorf("%d MiB allocated to stream %d MiB, want at most %d MiB: the parts' buffers are not reused",
			allocated>>20, size>>20, bound>>20)
	}
}
