package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/uploadkit/uploads"
	"github.com/uploadkit/uploads/conformance"
)

// projectClient is the project's own client pointed at the test server, its exchanges also
// checked against the spec on the client's side.
func (e *env) projectClient(key string) *uploads.Client {
	e.t.Helper()
	v, err := conformance.New(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	t := e.t
	rt := v.RoundTripper(nil, func(err error) { t.Errorf("conformance (client side): %v", err) })
	c, err := uploads.NewClient(
		uploads.WithBaseURL(e.URL),
		uploads.WithAPIKey(key),
		uploads.WithHTTPClient(&http.Client{Transport: rt}),
		uploads.WithMaxRetries(0),
	)
	if err != nil {
		e.t.Fatalf("new client: %v", err)
	}
	return c
}

// The whole lifecycle with the project's client: create, parts in parallel, complete, retrieve,
// and a download equal to the original bytes.
func TestLifecycleProjectClient(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.projectClient(keyA)
	content := randomBytes(1_000_000, 11)
	const partSize = 128 << 10

	up, err := c.Create(ctx, uploads.CreateParams{
		Filename: "data.jsonl", Purpose: uploads.PurposeBatch, Bytes: int64(len(content)),
		MIMEType: "text/jsonl", ExpiresAfter: 48 * time.Hour,
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	n := (len(content) + partSize - 1) / partSize
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			chunk := content[i*partSize : min((i+1)*partSize, len(content))]
			p, err := c.AddPart(ctx, up.ID, bytes.NewReader(chunk))
			if err != nil {
				t.Errorf("part %d: %v", i, err)
				return
			}
			ids[i] = p.ID
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	sum := md5.Sum(content)
	done, err := c.Complete(ctx, up.ID, uploads.CompleteParams{PartIDs: ids, MD5: hex.EncodeToString(sum[:])})
	if err != nil {
		t.Fatalf("complete: %v", err)
	}
	if done.Status != uploads.UploadStatusCompleted || done.File == nil || done.File.ExpiresAt == nil ||
		*done.File.ExpiresAt != done.File.CreatedAt+48*3600 {
		t.Fatalf("completed upload = %+v", done)
	}
	f, err := c.RetrieveFile(ctx, done.File.ID)
	if err != nil || f.Bytes != int64(len(content)) {
		t.Fatalf("retrieve: %v %+v", err, f)
	}
	body, err := c.DownloadFile(ctx, f.ID)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	got, err := io.ReadAll(body)
	body.Close()
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("download: %v; %d bytes, equal %v", err, len(got), bytes.Equal(got, content))
	}
}

// UploadFile, the large-file helper, sends a file in parts against the server and checks its MD5.
func TestUploadFileProjectClient(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.projectClient(keyA)
	content := randomBytes(700_000, 12)
	path := filepath.Join(t.TempDir(), "train.jsonl")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	up, err := c.UploadFile(ctx, path, uploads.UploadFileParams{
		Purpose: uploads.PurposeFineTune, PartSize: 100_000, Concurrency: 3, MD5: true,
	})
	if err != nil {
		t.Fatalf("upload file: %v", err)
	}
	body, err := c.DownloadFile(ctx, up.File.ID)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if !bytes.Equal(got, content) {
		t.Errorf("downloaded %d bytes that differ from the %d uploaded", len(got), len(content))
	}
}

// The server's errors reach the project's client as typed errors with their fields.
func TestProjectClientErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	_, err := e.projectClient(keyA).Cancel(ctx, "upload_missing")
	var apiErr *uploads.APIError
	if !uploads.IsNotFound(err) || !errors.As(err, &apiErr) || apiErr.Param != "upload_id" || apiErr.Code != "not_found" ||
		!requestIDPattern.MatchString(apiErr.RequestID) {
		t.Errorf("cancel of an unknown upload: %v (%+v)", err, apiErr)
	}
	_, err = e.projectClient("sk-unknown").RetrieveFile(ctx, "file-x")
	if !uploads.IsUnauthorized(err) {
		t.Errorf("unknown key: %v", err)
	}
}
