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
	// smallPartSize is how much of a part is read before deciding how to send it: a part that
	// fits goes in one PUT from memory, a larger one streams as an S3 multipart upload.
	smallPartSize = 8 << 20
	// streamChunkSize is the S3 part size used when streaming a large part. The S3 minimum is
	// 5 MiB; the client holds one chunk in memory per part in flight.
	streamChunkSize = 8 << 20
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
// may then exist and the caller deletes it.
func (s *Store) putPart(ctx context.Context, key string, data io.Reader, maxSize int64) (int64, error) {
	guard := &sizeGuard{r: ctxReader{ctx, data}, max: maxSize}
	bufp := s.buffers.Get().(*[]byte)
	defer s.buffers.Put(bufp)
	n, err := io.ReadFull(guard, *bufp)
	switch {
	case guard.tooLarge:
		return 0, errTooLarge
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		// The whole part is in memory: one request with a known length.
		_, err = s.s3.PutObject(ctx, s.bucket, key, bytes.NewReader((*bufp)[:n]), int64(n),
			minio.PutObjectOptions{ContentType: "application/octet-stream"})
		if err != nil {
			return 0, fmt.Errorf("write part object: %w", err)
		}
		return int64(n), nil
	case err != nil:
		return 0, fmt.Errorf("read part: %w", err)
	}
	rest := io.MultiReader(bytes.NewReader((*bufp)[:n]), guard)
	info, err := s.s3.PutObject(ctx, s.bucket, key, rest, -1, minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		PartSize:    streamChunkSize,
	})
	if guard.tooLarge {
		return 0, errTooLarge
	}
	if err != nil {
		return 0, fmt.Errorf("write part object: %w", err)
	}
	if info.Size != guard.n {
		return 0, fmt.Errorf("write part object: the bucket stored %d bytes of %d", info.Size, guard.n)
	}
	return guard.n, nil
}

// removeObjects deletes the objects named by keys. Deleting an object that is gone is not an
// error.
func (s *Store) removeObjects(ctx context.Context, keys []string) error {
	var errs []error
	for _, key := range keys {
		err := s.s3.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{})
		if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey {
			errs = append(errs, fmt.Errorf("delete object %s: %w", key, err))
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
