package uploads

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
)

// DefaultStreamPartSize is the part size UploadReader uses unless told otherwise. UploadReader holds
// the parts it sends in memory, so its memory is bounded by Concurrency × PartSize: with the
// defaults, 4 × 16 MiB = 64 MiB, for an upload of up to 8 GiB in at most 512 parts.
const DefaultStreamPartSize = 16 << 20

// UploadReader uploads size bytes read from r, a stream that can be read only once (standard input,
// a pipe, a FIFO, a socket, a generated body), and returns the completed Upload, whose File is
// ready for use.
//
// It reads r in order, one part at a time, each into a buffer of a pool, and sends up to
// Concurrency parts at once, each from its buffer, so that a failed part can be sent again. The
// pool holds at most Concurrency buffers of PartSize bytes (DefaultStreamPartSize unless set):
// memory is bounded by Concurrency × PartSize, 64 MiB with the defaults, whatever size is. Buffers
// are made as they are first needed, so a small upload takes little. A part waits in its buffer
// for a sender, and the reading of r waits for a free buffer. With MD5 set, the hash is computed as
// r is read, with no second pass.
//
// r must hold exactly size bytes: when it ends before, or has more, the upload fails (and is
// cancelled) before it is completed. The arguments are checked as UploadReaderAt checks them; the
// failures, what is done after one (the cancel, the search for the File of a completed upload
// whose answer was lost) and the progress are as for UploadReaderAt.
//
// A Read of r that blocks is not interrupted when ctx is done: UploadReader cancels the upload and
// returns without waiting for it, and the goroutine reading r stops once that Read returns.
func (c *Client) UploadReader(ctx context.Context, r io.Reader, size int64, p UploadFileParams) (*Upload, error) {
	op := "upload " + p.Filename
	partSize, concurrency, err := p.check(op, r == nil, size, DefaultStreamPartSize)
	if err != nil {
		return nil, err
	}
	if p.Journal != "" {
		return nil, &InvalidParamError{Operation: op, Param: "journal", Reason: "a stream cannot be read again to resume: use UploadFile or UploadReaderAt"}
	}
	mimeType := p.MIMEType
	if mimeType == "" {
		mimeType = GuessMIMETypeFor(p.Filename, p.Purpose)
	}
	create := CreateParams{Filename: p.Filename, Purpose: p.Purpose, Bytes: size, MIMEType: mimeType, ExpiresAfter: p.ExpiresAfter}
	if _, err := create.request(op); err != nil {
		return nil, err
	}

	up, err := c.Create(ctx, create)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	done, uncertain, err := c.streamAndComplete(ctx, up, r, size, partSize, concurrency, p)
	if err == nil {
		return done, nil
	}
	return c.afterFailure(ctx, up, size, p, uncertain, err)
}

// errInputTooLong says a stream held more bytes than the size it was uploaded with.
var errInputTooLong = errors.New("input is longer than the size given")

// streamAndComplete reads the parts of up from r into pooled buffers, sends them, and completes it.
// On failure it also says whether an attempt of Complete may have taken effect without its answer
// arriving.
func (c *Client) streamAndComplete(ctx context.Context, up *Upload, r io.Reader, size, partSize int64, concurrency int, p UploadFileParams) (*Upload, bool, error) {
	parts := int((size + partSize - 1) / partSize)
	work, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	prog := c.newProgressTracker(p.Progress, up, size, parts)
	defer prog.flush()

	var (
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		stop(err)
	}

	type job struct {
		k   int
		buf []byte
	}
	jobs := make(chan job)
	senders := min(concurrency, parts)
	// The pool: at most one buffer per sender, each back in free once its part is sent.
	free := make(chan []byte, senders)
	ids := make([]string, parts)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for {
				var j job
				select {
				case next, ok := <-jobs:
					if !ok { // every part was handed out
						return
					}
					j = next
				case <-work.Done():
					return
				}
				data := io.NewSectionReader(bytes.NewReader(j.buf), 0, int64(len(j.buf)))
				part, err := c.AddPart(work, up.ID, &progressReader{r: data, t: prog})
				free <- j.buf[:cap(j.buf)]
				if err != nil {
					fail(fmt.Errorf("part %d of %d: %w", j.k+1, parts, err))
					return
				}
				ids[j.k] = part.ID
				prog.partDone()
			}
		})
	}

	// The reader runs on its own, so that a Read that blocks holds up neither a failure nor a
	// cancellation. read is closed once all of r was read, and sum then holds its MD5.
	read := make(chan struct{})
	var sum string
	go func() {
		var h hash.Hash
		if p.MD5 {
			h = md5.New()
		}
		made := 0
		for k := range parts {
			var buf []byte
			select {
			case buf = <-free:
			default:
				if made < senders {
					buf = make([]byte, min(partSize, size))
					made++
					break
				}
				select {
				case buf = <-free:
				case <-work.Done():
					return
				}
			}
			if work.Err() != nil {
				return
			}
			n := min(partSize, size-int64(k)*partSize)
			if m, err := io.ReadFull(r, buf[:n]); err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					err = fmt.Errorf("input ended after %d of %d bytes", int64(k)*partSize+int64(m), size)
				} else {
					err = fmt.Errorf("read input: %w", err)
				}
				fail(err)
				return
			}
			if h != nil {
				h.Write(buf[:n])
			}
			select {
			case jobs <- job{k: k, buf: buf[:n]}:
			case <-work.Done():
				return
			}
		}
		close(jobs)
		var one [1]byte
		if n, err := io.ReadFull(r, one[:]); n > 0 {
			fail(fmt.Errorf("%w: more than %d bytes", errInputTooLong, size))
			return
		} else if !errors.Is(err, io.EOF) {
			fail(fmt.Errorf("read input: %w", err))
			return
		}
		if h != nil {
			sum = hex.EncodeToString(h.Sum(nil))
		}
		close(read)
	}()

	wg.Wait()
	select {
	case <-read:
	case <-work.Done():
	}
	if firstErr != nil {
		return nil, false, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	done, h, err := c.complete(ctx, up.ID, ids, sum, nil)
	return done, h.uncertain, err
}
