package uploads

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

const (
	// DefaultPartSize is the part size UploadFile uses unless told otherwise: the largest allowed.
	DefaultPartSize = MaxPartSize
	// DefaultConcurrency is how many parts UploadFile sends at once unless told otherwise.
	DefaultConcurrency = 4
	// cancelTimeout bounds the cancel call UploadFile makes after a failure.
	cancelTimeout = 30 * time.Second
)

// UploadFileParams configures UploadFile and UploadReaderAt.
type UploadFileParams struct {
	// Filename is the name the file is uploaded under. UploadFile defaults it to the base name of
	// the path; UploadReaderAt requires it.
	Filename string
	// Purpose is what the file is for, such as PurposeFineTune. Required.
	Purpose Purpose
	// MIMEType is the type of the file; when empty it is guessed from Filename with GuessMIMEType.
	MIMEType string
	// PartSize is the size of each part but the last: at most MaxPartSize, which is the default.
	PartSize int64
	// Concurrency is how many parts are sent at once (default DefaultConcurrency).
	Concurrency int
	// MD5, when true, has the API check the uploaded bytes against their MD5. The file is then read
	// a second time, sequentially, by a hasher that runs alongside the parts (see UploadReaderAt).
	MD5 bool
	// ExpiresAfter, when not zero, makes the File expire this long after it is created (see
	// CreateParams).
	ExpiresAfter time.Duration
	// Progress, when not nil, is told how far the upload is, each time more bytes are handed to the
	// network. Calls come one at a time, from the goroutines sending parts, so it must not block
	// for long. Bytes of an attempt that failed and is retried are taken back, so Sent may go down.
	Progress func(Progress)
}

// Progress is how far an UploadFile is.
type Progress struct {
	// UploadID is the ID of the upload.
	UploadID string
	// Sent is how many bytes were handed to the network, and Total the size of the file.
	Sent, Total int64
	// PartsDone is how many parts the API has accepted, of Parts.
	PartsDone, Parts int
}

// UploadError is the error of an UploadFile that failed after the upload was created. The upload
// was then cancelled; CancelErr says whether that worked.
type UploadError struct {
	// UploadID is the upload that failed.
	UploadID string
	// Filename is the name it was uploaded under.
	Filename string
	// Err is what went wrong.
	Err error
	// CancelErr is nil when the upload was cancelled, else why the cancel failed.
	CancelErr error
}

// Error says which upload failed and why, and whether it was cancelled.
func (e *UploadError) Error() string {
	msg := fmt.Sprintf("upload %s (%s): %v", e.Filename, e.UploadID, e.Err)
	if e.CancelErr != nil {
		return msg + fmt.Sprintf("; the upload could not be cancelled either, and will expire on its own: %v", e.CancelErr)
	}
	return msg + "; the upload was cancelled"
}

// Unwrap returns the cause of the failure (not the cancel's).
func (e *UploadError) Unwrap() error { return e.Err }

// Cancelled reports whether the failed upload was cancelled.
func (e *UploadError) Cancelled() bool { return e.CancelErr == nil }

// UploadFile uploads the file at path in parts and returns the completed Upload, whose File is
// ready for use. See UploadReaderAt for how.
func (c *Client) UploadFile(ctx context.Context, path string, p UploadFileParams) (*Upload, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("upload file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("upload file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, &InvalidParamError{Operation: "upload file", Param: "path", Reason: path + " is not a regular file"}
	}
	if p.Filename == "" {
		p.Filename = filepath.Base(path)
	}
	return c.UploadReaderAt(ctx, f, info.Size(), p)
}

// UploadReaderAt uploads size bytes read from r in parts and returns the completed Upload, whose
// File is ready for use.
//
// It checks its arguments first (size from 1 to MaxUploadSize, part size up to MaxPartSize, that r
// can be read at its first and last byte) and sends nothing when they fail. It then creates the
// upload and sends up to Concurrency parts at once, each streamed from its own io.SectionReader, so
// memory stays bounded by the concurrency and the transport's small buffers, whatever the part
// size. Each part is retried as AddPart retries. Then it completes the upload with the part IDs in
// file order.
//
// With MD5 set, a hasher reads r once more from start to end, alongside the parts; a part's bytes
// cannot feed an MD5 in file order while parts are sent in parallel without holding whole parts in
// memory. The complete call waits for the hash.
//
// When anything fails after the upload was created, or ctx is done, it cancels the upload, with a
// fresh context of its own since ctx may be done, and returns an *UploadError that wraps the cause
// and says whether the cancel succeeded.
func (c *Client) UploadReaderAt(ctx context.Context, r io.ReaderAt, size int64, p UploadFileParams) (*Upload, error) {
	op := "upload " + p.Filename
	bad := func(param, reason string) error {
		return &InvalidParamError{Operation: op, Param: param, Reason: reason}
	}
	partSize, concurrency := p.PartSize, p.Concurrency
	if partSize == 0 {
		partSize = DefaultPartSize
	}
	if concurrency == 0 {
		concurrency = DefaultConcurrency
	}
	switch {
	case r == nil:
		return nil, bad("reader", "nil")
	case strings.TrimSpace(p.Filename) == "":
		return nil, bad("filename", "empty")
	case size < 1 || size > MaxUploadSize:
		return nil, bad("size", fmt.Sprintf("%d bytes is not between 1 and %d", size, MaxUploadSize))
	case partSize < 1 || partSize > MaxPartSize:
		return nil, bad("part size", fmt.Sprintf("%d is not between 1 and %d", partSize, MaxPartSize))
	case concurrency < 1:
		return nil, bad("concurrency", fmt.Sprintf("%d is less than 1", concurrency))
	}
	mimeType := p.MIMEType
	if mimeType == "" {
		mimeType = GuessMIMEType(p.Filename)
	}
	create := CreateParams{Filename: p.Filename, Purpose: p.Purpose, Bytes: size, MIMEType: mimeType, ExpiresAfter: p.ExpiresAfter}
	if _, err := create.request(op); err != nil {
		return nil, err
	}
	if err := probe(r, size); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}

	up, err := c.Create(ctx, create)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	done, err := c.sendAndComplete(ctx, up, r, size, partSize, concurrency, p)
	if err == nil {
		return done, nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
	defer cancel()
	_, cerr := c.Cancel(cctx, up.ID)
	return nil, &UploadError{UploadID: up.ID, Filename: p.Filename, Err: err, CancelErr: cerr}
}

// probe checks that r can be read at its first and last byte, so that a wrong size or an unreadable
// input fails before the upload is created.
func probe(r io.ReaderAt, size int64) error {
	var b [1]byte
	for _, off := range []int64{0, size - 1} {
		if n, err := r.ReadAt(b[:], off); n != 1 {
			if err == nil || errors.Is(err, io.EOF) {
				return fmt.Errorf("input is shorter than %d bytes: no byte at offset %d", size, off)
			}
			return fmt.Errorf("read input at offset %d: %w", off, err)
		}
	}
	return nil
}

// sendAndComplete sends the parts of up and completes it.
func (c *Client) sendAndComplete(ctx context.Context, up *Upload, r io.ReaderAt, size, partSize int64, concurrency int, p UploadFileParams) (*Upload, error) {
	parts := int((size + partSize - 1) / partSize)
	work, stop := context.WithCancelCause(ctx)
	defer stop(nil)

	var sum <-chan hashResult
	if p.MD5 {
		sum = hashInBackground(work, r, size)
	}

	prog := &progressTracker{fn: p.Progress, state: Progress{UploadID: up.ID, Total: size, Parts: parts}}
	ids := make([]string, parts)
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range min(concurrency, parts) {
		wg.Go(func() {
			for k := range next {
				off := int64(k) * partSize
				n := min(partSize, size-off)
				part, err := c.AddPart(work, up.ID, &progressReader{r: io.NewSectionReader(r, off, n), t: prog})
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("part %d of %d: %w", k+1, parts, err) })
					stop(err)
					continue
				}
				ids[k] = part.ID
				prog.partDone()
			}
		})
	}
feed:
	for k := range parts {
		select {
		case next <- k:
		case <-work.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var md5Sum string
	if sum != nil {
		res := <-sum
		if res.err != nil {
			return nil, res.err
		}
		md5Sum = res.sum
	}
	return c.Complete(ctx, up.ID, ids, md5Sum)
}

type hashResult struct {
	sum string
	err error
}

// hashInBackground computes the MD5 of the first size bytes of r, in one sequential read.
func hashInBackground(ctx context.Context, r io.ReaderAt, size int64) <-chan hashResult {
	out := make(chan hashResult, 1)
	go func() {
		h := md5.New()
		_, err := io.Copy(h, &ctxReader{ctx: ctx, r: io.NewSectionReader(r, 0, size)})
		if err != nil {
			out <- hashResult{err: fmt.Errorf("compute MD5: %w", err)}
			return
		}
		out <- hashResult{sum: hex.EncodeToString(h.Sum(nil))}
	}()
	return out
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// progressTracker adds up the bytes sent by all parts and reports them, one call at a time.
type progressTracker struct {
	mu    sync.Mutex
	fn    func(Progress)
	state Progress
}

func (t *progressTracker) add(n int64) {
	if t.fn == nil || n == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.state.Sent += n
	t.fn(t.state)
}

func (t *progressTracker) partDone() {
	if t.fn == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.state.PartsDone++
	t.fn(t.state)
}

// progressReader reads one part and reports what it read; when AddPart rewinds it for a retry,
// the bytes of the failed attempt are taken back.
type progressReader struct {
	r    *io.SectionReader
	t    *progressTracker
	read int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.read += int64(n)
	p.t.add(int64(n))
	return n, err
}

func (p *progressReader) Seek(offset int64, whence int) (int64, error) {
	pos, err := p.r.Seek(offset, whence)
	if err == nil && pos < p.read {
		p.t.add(pos - p.read)
		p.read = pos
	}
	return pos, err
}
