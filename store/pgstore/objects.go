package pgstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
)

const (
	// partChunkSize is the buffer each part in flight holds: a part that fits goes in one PUT
	// from it, a larger one is sent as an S3 multipart upload of chunks of this size (the S3
	// minimum is 5 MiB), read into two such buffers in turn.
	partChunkSize = 8 << 20
	// DefaultPartsInFlight is how many parts one Store writes at once when Config.PartsInFlight
	// is 0; more wait for a turn.
	DefaultPartsInFlight = 8
)

// errTooLarge is what sizeGuard returns once it has read more than its limit.
var errTooLarge = errors.New("too large")

// partKey is the object key for a new part. The random suffix means a part id used twice can
// never overwrite the bytes of a recorded part: the second write goes to its own object, and its
// record is refused.
func (s *Store) partKey(uploadID, partID string) string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return s.prefix + "parts/" + uploadID + "/" + partID + "." + hex.EncodeToString(b[:])
}

// putPart streams at most maxSize bytes of data into the object key and returns how many it
// wrote. If data holds more it returns errTooLarge after reading maxSize+1 bytes; the object
// may then exist and the caller deletes it. It first waits for one of the Store's slots for parts
// in flight. A part takes one partChunkSize buffer (a streamed part a second, see putStreamed),
// whatever its size, so parts' buffers never exceed PartsInFlight × 16 MiB.
func (s *Store) putPart(ctx context.Context, key string, data io.Reader, maxSize int64) (int64, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, fmt.Errorf("wait for a turn to write the part: %w", context.Cause(ctx))
	}
	defer func() { <-s.slots }()
	bufp := s.buffers.Get().(*[]byte)
	defer s.buffers.Put(bufp)
	buf := *bufp

	guard := &sizeGuard{r: ctxReader{ctx, data}, max: maxSize}
	n, more, next, err := fill(guard, buf)
	if err != nil {
		return 0, err
	}
	if !more {
		return s.putSmall(ctx, key, buf[:n])
	}
	return s.putStreamed(ctx, key, buf, guard, next)
}

// fill reads from guard until buf is full or the data ends. When buf is full it reads one byte
// more, to say whether the data goes on (more) and with which byte (next). Too much data is
// errTooLarge.
func fill(guard *sizeGuard, buf []byte) (n int, more bool, next byte, err error) {
	n, err = io.ReadFull(guard, buf)
	switch {
	case guard.tooLarge:
		return 0, false, 0, errTooLarge
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return n, false, 0, nil
	case err != nil:
		return 0, false, 0, fmt.Errorf("read part: %w", err)
	}
	var b [1]byte
	switch k, err := io.ReadFull(guard, b[:]); {
	case guard.tooLarge:
		return 0, false, 0, errTooLarge
	case k == 0 && err == io.EOF:
		return n, false, 0, nil
	case err != nil:
		return 0, false, 0, fmt.Errorf("read part: %w", err)
	}
	return n, true, b[0], nil
}

// putSmall writes a part held whole in memory, in one request.
func (s *Store) putSmall(ctx context.Context, key string, data []byte) (int64, error) {
	_, err := s.s3.PutObject(ctx, s.bucket, key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return 0, fmt.Errorf("write part object: %w", err)
	}
	return int64(len(data)), nil
}

// putStreamed writes a part larger than buf as an S3 multipart upload: buf is full of its first
// chunk, next is the byte after it, and guard reads the rest, into buf and a second buffer in
// turn, so that a chunk is read from the client while the one before goes to the bucket. Any failure aborts the multipart upload (detached from ctx, which may be what
// failed), so that only a crash leaves an unfinished multipart upload behind; the sweeper aborts
// those.
func (s *Store) putStreamed(ctx context.Context, key string, buf []byte, guard *sizeGuard, next byte) (n int64, err error) {
	core := minio.Core{Client: s.s3}
	uploadID, err := core.NewMultipartUpload(ctx, s.bucket, key, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return 0, fmt.Errorf("write part object: start a multipart upload: %w", err)
	}
	defer func() {
		if err != nil {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
			defer cancel()
			_ = core.AbortMultipartUpload(actx, s.bucket, key, uploadID)
		}
	}()
	// Two buffers take turns: the next chunk is read from the client while the last one is sent
	// to the bucket.
	otherp := s.buffers.Get().(*[]byte)
	defer s.buffers.Put(otherp)
	bufs := [2][]byte{buf, *otherp}
	var parts []minio.CompletePart
	var sending chan sent
	// wait waits for the chunk being sent, if any; its buffer is then free.
	wait := func() error {
		if sending == nil {
			return nil
		}
		r := <-sending
		sending = nil
		if r.err != nil {
			return fmt.Errorf("write part object: chunk %d: %w", r.part.PartNumber, r.err)
		}
		parts = append(parts, r.part)
		return nil
	}
	defer func() { _ = wait() }() // never leave a buffer in use behind
	chunk, more, cur := buf, true, 0
	for number := 1; ; number++ {
		if err := wait(); err != nil {
			return 0, err
		}
		sending = make(chan sent, 1)
		go func(number int, chunk []byte, out chan<- sent) {
			p, err := core.PutObjectPart(ctx, s.bucket, key, uploadID, number, bytes.NewReader(chunk), int64(len(chunk)), minio.PutObjectPartOptions{})
			out <- sent{minio.CompletePart{PartNumber: number, ETag: p.ETag}, err}
		}(number, chunk, sending)
		if !more {
			break
		}
		cur ^= 1
		b := bufs[cur]
		b[0] = next
		var m int
		m, more, next, err = fill(guard, b[1:])
		if err != nil {
			return 0, err
		}
		chunk = b[:1+m]
	}
	if err := wait(); err != nil {
		return 0, err
	}
	if _, err := core.CompleteMultipartUpload(ctx, s.bucket, key, uploadID, parts, minio.PutObjectOptions{}); err != nil {
		return 0, fmt.Errorf("write part object: complete the multipart upload: %w", err)
	}
	return guard.n, nil
}

// sent is the outcome of sending one chunk of a streamed part.
type sent struct {
	part minio.CompletePart
	err  error
}

// abortUnfinished aborts every unfinished S3 multipart upload of the object key: one a crashed
// writer left, or one whose abort failed.
func (s *Store) abortUnfinished(ctx context.Context, key string) error {
	if err := s.s3.RemoveIncompleteUpload(ctx, s.bucket, key); err != nil {
		return fmt.Errorf("abort unfinished multipart uploads of %s: %w", key, err)
	}
	return nil
}

// removeObjects deletes the objects named by keys, in multi-object delete requests of up to a
// thousand keys (not one request per object). Deleting an object that is gone is not an error.
func (s *Store) removeObjects(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	objects := make(chan minio.ObjectInfo, len(keys))
	for _, key := range keys {
		objects <- minio.ObjectInfo{Key: key}
	}
	close(objects)
	var errs []error
	for res := range s.s3.RemoveObjectsWithResult(ctx, s.bucket, objects, minio.RemoveObjectsOptions{}) {
		if res.Err != nil && minio.ToErrorResponse(res.Err).Code != minio.NoSuchKey {
			errs = append(errs, fmt.Errorf("delete object %s: %w", res.ObjectName, res.Err))
		}
	}
	return errors.Join(errs...)
}

// sizeGuard reads from r and fails with errTooLarge once more than max bytes came, having read
// exactly max+1.
type sizeGuard struct {
	r        io.Reader
	max, n   int64
	tooLarge bool
}

func (g *sizeGuard) Read(p []byte) (int, error) {
	if g.tooLarge {
		return 0, errTooLarge
	}
	if left := g.max + 1 - g.n; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	if g.n > g.max {
		g.tooLarge = true
		return n, errTooLarge
	}
	return n, err
}

// ctxReader reads from r until ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
