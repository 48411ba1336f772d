package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"regexp"
	"sync"
	"testing"

	"github.com/uploadkit/uploads/gen"
)

var (
	uploadIDPattern = regexp.MustCompile(`^upload_[0-9a-f]{32}$`)
	partIDPattern   = regexp.MustCompile(`^part_[0-9a-f]{32}$`)
	fileIDPattern   = regexp.MustCompile(`^file-[0-9A-Za-z]{22}$`)
)

// streamPart sends data as a part through the generated client, writing the multipart form
// through a pipe so that nothing is buffered whole.
func streamPart(ctx context.Context, c *gen.ClientWithResponses, uploadID string, data []byte) (*gen.AddUploadPartResponse, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		w, err := mw.CreateFormFile("data", "part")
		if err == nil {
			_, err = io.Copy(w, bytes.NewReader(data))
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	return c.AddUploadPartWithBodyWithResponse(ctx, uploadID, mw.FormDataContentType(), pr)
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.client(keyA)

	const partSize, parts = 300_000, 7
	content := randomBytes(partSize*parts-1234, 1) // the last part is shorter
	sum := md5.Sum(content)
	seconds := int64(86400)

	created, err := c.CreateUploadWithResponse(ctx, gen.CreateUploadRequest{
		Purpose:      gen.PurposeFineTune,
		Filename:     "training_examples.jsonl",
		Bytes:        int64(len(content)),
		MIMEType:     "text/jsonl",
		ExpiresAfter: &gen.FileExpirationAfter{Anchor: gen.FileExpirationAfterAnchorCreatedAt, Seconds: seconds},
	})
	if err != nil || created.JSON200 == nil {
		t.Fatalf("create: %v %s", err, created.Body)
	}
	u := *created.JSON200
	now := e.clock.Now().Unix()
	if !uploadIDPattern.MatchString(u.ID) || u.Status != gen.UploadStatusPending || u.Object != "upload" ||
		u.CreatedAt != now || u.ExpiresAt != now+3600 || u.File != nil || u.Bytes != int64(len(content)) {
		t.Fatalf("created upload = %+v", u)
	}
	if bytes.Contains(created.Body, []byte(`"file"`)) {
		t.Errorf("a pending upload carries a file key: %s", created.Body)
	}

	// Send the parts at once, in no particular order, and keep their ids in file order.
	ids := make([]string, parts)
	var wg sync.WaitGroup
	for i := range parts {
		wg.Go(func() {
			chunk := content[i*partSize : min((i+1)*partSize, len(content))]
			resp, err := streamPart(ctx, c, u.ID, chunk)
			if err != nil || resp.JSON200 == nil {
				t.Errorf("part %d: %v %s", i, err, resp.Body)
				return
			}
			p := resp.JSON200
			if !partIDPattern.MatchString(p.ID) || p.UploadID != u.ID || p.Object != "upload.part" || p.CreatedAt != now {
				t.Errorf("part %d = %+v", i, p)
			}
			ids[i] = p.ID
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	e.clock.Advance(90e9) // 90 s later
	md5Hex := hex.EncodeToString(sum[:])
	done, err := c.CompleteUploadWithResponse(ctx, u.ID, gen.CompleteUploadRequest{PartIDs: ids, MD5: &md5Hex})
	if err != nil || done.JSON200 == nil {
		t.Fatalf("complete: %v %s", err, done.Body)
	}
	cu := *done.JSON200
	if cu.Status != gen.UploadStatusCompleted || cu.File == nil {
		t.Fatalf("completed upload = %+v", cu)
	}
	// Only the status changes after create.
	if cu.ID != u.ID || cu.CreatedAt != u.CreatedAt || cu.ExpiresAt != u.ExpiresAt || cu.Bytes != u.Bytes ||
		cu.Filename != u.Filename || cu.Purpose != u.Purpose {
		t.Errorf("complete changed more than the status: %+v, was %+v", cu, u)
	}
	f := *cu.File
	doneAt := now + 90
	if !fileIDPattern.MatchString(f.ID) || f.Object != "file" || f.Bytes != int64(len(content)) ||
		f.CreatedAt != doneAt || f.ExpiresAt == nil || *f.ExpiresAt != doneAt+seconds ||
		f.Status != gen.FileObjectStatusProcessed || f.Purpose != gen.PurposeFineTune || f.Filename != u.Filename {
		t.Errorf("file = %+v", f)
	}

	got, err := c.RetrieveFileWithResponse(ctx, f.ID)
	if err != nil || got.JSON200 == nil {
		t.Fatalf("retrieve file: %v %s", err, got.Body)
	}
	if got.JSON200.ID != f.ID || got.JSON200.Bytes != f.Bytes || *got.JSON200.ExpiresAt != *f.ExpiresAt {
		t.Errorf("retrieved file = %+v, want %+v", got.JSON200, f)
	}

	resp, err := c.DownloadFile(ctx, f.ID)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(content)) ||
		resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("download: status %d, length %d, type %q", resp.StatusCode, resp.ContentLength, resp.Header.Get("Content-Type"))
	}
	if !bytes.Equal(body, content) {
		t.Errorf("downloaded %d bytes that differ from the %d uploaded", len(body), len(content))
	}
}

// A file made without expires_after never expires: expires_at is null, and the key is present.
func TestFileWithoutExpiry(t *testing.T) {
	e := newEnv(t)
	u := e.createUpload(keyA, 5)
	id := e.mustAddPart(keyA, u.ID, []byte("hello"))
	r := e.complete(keyA, u.ID, []string{id}, "")
	if !bytes.Contains(r.Body, []byte(`"expires_at": null`)) && !bytes.Contains(r.Body, []byte(`"expires_at":null`)) {
		t.Errorf("file.expires_at is not null: %s", r.Body)
	}
	if !bytes.Contains(r.Body, []byte(`"status_details":null`)) {
		t.Errorf("file.status_details is not null: %s", r.Body)
	}
	cu := decode[gen.Upload](t, r)
	e.clock.Advance(1e9 * 3600 * 24 * 365)
	got := decode[gen.FileObject](t, e.do("GET", "/files/"+cu.File.ID, keyA, "", nil))
	if got.ExpiresAt != nil {
		t.Errorf("expires_at = %d, want null", *got.ExpiresAt)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t)
	u := e.createUpload(keyA, 10)
	e.mustAddPart(keyA, u.ID, []byte("12345"))
	r := e.do("POST", "/uploads/"+u.ID+"/cancel", keyA, "", nil)
	cu := decode[gen.Upload](t, r)
	if cu.Status != gen.UploadStatusCancelled || cu.ID != u.ID || cu.ExpiresAt != u.ExpiresAt || cu.Bytes != u.Bytes {
		t.Errorf("cancelled upload = %+v", cu)
	}
	if bytes.Contains(r.Body, []byte(`"file"`)) {
		t.Errorf("a cancelled upload carries a file key: %s", r.Body)
	}
}
