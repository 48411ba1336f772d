package pgstore_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/uploadkit/uploads/store/pgstore"
	"github.com/uploadkit/uploads/store/pgstore/pgstoretest"
)

// TestS3MultipartCannotCarryTheUploadsLifecycle is the evidence behind storing one object per
// part instead of mapping an Upload onto an S3 multipart upload: on a real S3 server, each of the
// three things the Uploads API allows and S3 multipart refuses is tried and refused.
func TestS3MultipartCannotCarryTheUploadsLifecycle(t *testing.T) {
	cfg := pgstoretest.Config(t)
	core, err := minio.NewCore(cfg.S3Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.S3AccessKey, cfg.S3SecretKey, ""),
		Region:       cfg.S3Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatalf("S3 client: %v", err)
	}
	const mib = 1 << 20

	// Uploads: parts of any size. S3: every part but the last at least 5 MiB.
	t.Run("SmallPartsAreRefused", func(t *testing.T) {
		m := startMultipart(t, core, cfg, "small")
		parts := []minio.CompletePart{m.put(t, 1, 1), m.put(t, 2, 1)}
		m.wantCompleteError(t, parts, "EntityTooSmall")
	})
	// Uploads: the order of the parts is given at completion, whatever order they came in.
	// S3: the order is the part number, fixed when the part is sent.
	t.Run("OrderIsFixedWhenPartsAreSent", func(t *testing.T) {
		m := startMultipart(t, core, cfg, "order")
		p1, p2 := m.put(t, 1, 5*mib), m.put(t, 2, 5*mib)
		m.wantCompleteError(t, []minio.CompletePart{p2, p1}, "InvalidPartOrder")
	})
	// Uploads: complete checks the MD5 of the parts before the file exists. S3: the parts of an
	// unfinished multipart upload cannot be read, so the check could only run after completing,
	// which cannot be undone into a pending upload again.
	t.Run("PartsCannotBeReadBeforeCompletion", func(t *testing.T) {
		m := startMultipart(t, core, cfg, "unread")
		m.put(t, 1, 1)
		_, _, _, err := core.GetObject(context.Background(), cfg.S3Bucket, m.key, minio.GetObjectOptions{})
		if code := minio.ToErrorResponse(err).Code; code != minio.NoSuchKey {
			t.Errorf("reading an unfinished multipart upload: error %v (code %q), want %s", err, code, minio.NoSuchKey)
		}
	})
}

// multipart is one S3 multipart upload under test.
type multipart struct {
	core     *minio.Core
	bucket   string
	key      string
	uploadID string
}

// startMultipart starts a multipart upload, aborted when t ends.
func startMultipart(t *testing.T, core *minio.Core, cfg pgstore.Config, name string) *multipart {
	t.Helper()
	ctx := context.Background()
	key := cfg.S3Prefix + "multipart-" + name
	id, err := core.NewMultipartUpload(ctx, cfg.S3Bucket, key, minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("create multipart upload: %v", err)
	}
	t.Cleanup(func() { _ = core.AbortMultipartUpload(ctx, cfg.S3Bucket, key, id) })
	return &multipart{core: core, bucket: cfg.S3Bucket, key: key, uploadID: id}
}

// put sends part number n of size bytes.
func (m *multipart) put(t *testing.T, n, size int) minio.CompletePart {
	t.Helper()
	p, err := m.core.PutObjectPart(context.Background(), m.bucket, m.key, m.uploadID, n,
		bytes.NewReader(bytes.Repeat([]byte{'x'}, size)), int64(size), minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatalf("upload part %d: %v", n, err)
	}
	return minio.CompletePart{PartNumber: n, ETag: p.ETag}
}

// wantCompleteError completes the upload with parts and wants it refused with code.
func (m *multipart) wantCompleteError(t *testing.T, parts []minio.CompletePart, code string) {
	t.Helper()
	_, err := m.core.CompleteMultipartUpload(context.Background(), m.bucket, m.key, m.uploadID, parts, minio.PutObjectOptions{})
	if got := minio.ToErrorResponse(err).Code; got != code {
		t.Errorf("complete multipart upload: error %v (code %q), want code %s", err, got, code)
	}
}
