package storetest

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/uploadkit/uploads/store"
)

// heldReader yields its first byte, then waits for release before yielding the rest: a part
// write caught half way, at a point the test chooses. started is closed at the first read, when
// the store has made its early checks and begun to take the bytes.
type heldReader struct {
	data     string
	started  chan struct{}
	release  chan struct{}
	once     sync.Once
	off      int
	released bool
}

func newHeldReader(data string) *heldReader {
	return &heldReader{data: data, started: make(chan struct{}), release: make(chan struct{})}
}

func (h *heldReader) Read(p []byte) (int, error) {
	if h.off == 0 {
		h.once.Do(func() { close(h.started) })
	} else if !h.released {
		<-h.release
		h.released = true
	}
	if h.off >= len(h.data) {
		return 0, io.EOF
	}
	n := copy(p[:1], h.data[h.off:]) // a byte at a time, so the hold comes after the first
	h.off += n
	return n, nil
}

// testPartWriteRacesFinish: a part whose bytes are still arriving when the upload is completed
// or cancelled must be refused once they have arrived, whatever the store checked before it began
// reading them, and must change nothing of the finished upload.
func testPartWriteRacesFinish(t *testing.T, s store.Store) {
	ctx := context.Background()
	finishes := []struct {
		name   string
		finish func(t *testing.T, u store.Upload, parts []string) (fileID string)
		want   store.Status
	}{
		{"complete", func(t *testing.T, u store.Upload, parts []string) string {
			_, f := complete(t, s, u.ID, parts, t0)
			return f.ID
		}, store.StatusCompleted},
		{"cancel", func(t *testing.T, u store.Upload, _ []string) string {
			if _, err := s.Cancel(ctx, alice, u.ID, t0); err != nil {
				t.Fatalf("Cancel: %v", err)
			}
			return ""
		}, store.StatusCancelled},
	}
	for _, fin := range finishes {
		t.Run(fin.name, func(t *testing.T) {
			u, parts := uploadWithParts(t, s, t0, "done")
			late := newHeldReader("late")
			type result struct {
				p   store.Part
				err error
			}
			done := make(chan result, 1)
			go func() {
				p, err := s.AddPart(ctx, alice, u.ID, newPartID(), late, store.Limits{MaxPart: MaxPartSize}, store.At(t0))
				done <- result{p, err}
			}()
			select {
			case <-late.started:
			case r := <-done:
				t.Fatalf("AddPart to a pending upload ended before reading its part: %+v, %v", r.p, r.err)
			}
			fileID := fin.finish(t, u, parts)
			close(late.release)
			r := <-done
			wantStateError(t, r.err, u.ID, fin.want)
			if got := getUpload(t, s, u.ID, t0); got.Status != fin.want {
				t.Errorf("status after the late part = %s, want %s", got.Status, fin.want)
			}
			if fileID != "" {
				if got := readFile(t, s, alice, fileID); got != "done" {
					t.Errorf("file content after the late part = %q, want %q", got, "done")
				}
			}
		})
	}
}

// countingReader counts the reads of its bytes.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// testFinishedUploadReadsNoPart: a part for an upload that cannot take one is refused before a
// byte of it is read, so a client is not made to send up to a whole part for nothing.
func testFinishedUploadReadsNoPart(t *testing.T, s store.Store) {
	ctx := context.Background()
	completed, parts := uploadWithParts(t, s, t0, "ab")
	complete(t, s, completed.ID, parts, t0)
	cancelled, _ := uploadWithParts(t, s, t0, "ab")
	if _, err := s.Cancel(ctx, alice, cancelled.ID, t0); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	expired, _ := uploadWithParts(t, s, t0-3600, "ab")
	for _, c := range []struct {
		u    store.Upload
		want store.Status
	}{
		{completed, store.StatusCompleted},
		{cancelled, store.StatusCancelled},
		{expired, store.StatusExpired},
	} {
		t.Run(string(c.want), func(t *testing.T) {
			data := &countingReader{r: strings.NewReader("cd")}
			_, err := s.AddPart(ctx, alice, c.u.ID, newPartID(), data, store.Limits{MaxPart: MaxPartSize}, store.At(t0))
			wantStateError(t, err, c.u.ID, c.want)
			if data.reads != 0 {
				t.Errorf("the refused part was read %d times, want none", data.reads)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		data := &countingReader{r: strings.NewReader("cd")}
		_, err := s.AddPart(ctx, alice, newUploadID(), newPartID(), data, store.Limits{MaxPart: MaxPartSize}, store.At(t0))
		wantErrorIs(t, err, store.ErrNotFound)
		if data.reads != 0 {
			t.Errorf("the part for an unknown upload was read %d times, want none", data.reads)
		}
	})
}

// testMD5AnyCase: the MD5 given to Complete is compared without regard to case, as hex is; a
// wrong one is refused in any case.
func testMD5AnyCase(t *testing.T, s store.Store) {
	ctx := context.Background()
	const content = "checksum in capitals" // its MD5 has letters in it
	sum := md5Hex(content)
	if strings.ToUpper(sum) == sum {
		t.Fatalf("the MD5 %s has no letter to change the case of", sum)
	}
	for _, c := range []struct {
		name, md5 string
	}{
		{"upper", strings.ToUpper(sum)},
		{"mixed", sum[:16] + strings.ToUpper(sum[16:])},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, parts := uploadWithParts(t, s, t0, content)
			_, f, err := s.Complete(ctx, alice, u.ID, parts, c.md5, newFileID(), store.At(t0))
			if err != nil {
				t.Fatalf("Complete with the MD5 %s: %v", c.md5, err)
			}
			if got := readFile(t, s, alice, f.ID); got != content {
				t.Errorf("file content = %q, want %q", got, content)
			}
		})
	}
	t.Run("wrong, in capitals", func(t *testing.T) {
		u, parts := uploadWithParts(t, s, t0, content)
		wrong := strings.ToUpper(md5Hex("something else"))
		_, _, err := s.Complete(ctx, alice, u.ID, parts, wrong, newFileID(), store.At(t0))
		var ce *store.ChecksumError
		if !errors.As(err, &ce) {
			t.Fatalf("Complete with a wrong MD5: %v, want a *store.ChecksumError", err)
		}
		if got := getUpload(t, s, u.ID, t0); got.Status != store.StatusPending {
			t.Errorf("status after a wrong MD5 = %s, want pending", got.Status)
		}
	})
}
