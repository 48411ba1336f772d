package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/uploadkit/uploads/conformance"
	"github.com/uploadkit/uploads/internal/filesuite"
)

// sdkClient is the official Go SDK pointed at the test server. With checked, its exchanges are
// also checked against the spec on the client's side; tests that send bad requests on purpose
// leave that out (the server's side is always checked).
func (e *env) sdkClient(key string, checked bool) openai.Client {
	e.t.Helper()
	opts := []option.RequestOption{option.WithBaseURL(e.URL + "/"), option.WithAPIKey(key), option.WithMaxRetries(0)}
	if checked {
		v, err := conformance.New(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		t := e.t
		rt := v.RoundTripper(nil, func(err error) { t.Errorf("conformance (SDK side): %v", err) })
		opts = append(opts, option.WithHTTPClient(&http.Client{Transport: rt}))
	}
	return openai.NewClient(opts...)
}

// The official SDK creates, adds parts, completes and cancels against the server without error:
// the server speaks the API as the SDK expects it.
func TestOfficialSDK(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.sdkClient(keyA, true)
	content := randomBytes(150_000, 9)
	sum := md5.Sum(content)

	up, err := c.Uploads.New(ctx, openai.UploadNewParams{
		Bytes:    int64(len(content)),
		Filename: "examples.jsonl",
		MimeType: "text/jsonl",
		Purpose:  openai.FilePurposeFineTune,
		ExpiresAfter: openai.UploadNewParamsExpiresAfter{
			Seconds: 7200,
		},
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if up.Status != openai.UploadStatusPending || up.ExpiresAt != up.CreatedAt+3600 {
		t.Errorf("created upload = %+v", up)
	}

	var ids []string
	for _, chunk := range [][]byte{content[:100_000], content[100_000:]} {
		p, err := c.Uploads.Parts.New(ctx, up.ID, openai.UploadPartNewParams{Data: bytes.NewReader(chunk)})
		if err != nil {
			t.Fatalf("add part: %v", err)
		}
		if p.UploadID != up.ID {
			t.Errorf("part = %+v", p)
		}
		ids = append(ids, p.ID)
	}

	done, err := c.Uploads.Complete(ctx, up.ID, openai.UploadCompleteParams{
		PartIDs: ids,
		Md5:     openai.String(hex.EncodeToString(sum[:])),
	})
	if err != nil {
		t.Fatalf("complete: %v", err)
	}
	if done.Status != openai.UploadStatusCompleted || done.File.ID == "" || done.File.Bytes != int64(len(content)) ||
		done.File.ExpiresAt != done.File.CreatedAt+7200 {
		t.Errorf("completed upload = %+v", done)
	}

	f, err := c.Files.Get(ctx, done.File.ID)
	if err != nil || f.ID != done.File.ID {
		t.Fatalf("retrieve file: %v, %+v", err, f)
	}
	resp, err := c.Files.Content(ctx, done.File.ID)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("download: %v, %d bytes, equal %v", err, len(got), bytes.Equal(got, content))
	}

	other, err := c.Uploads.New(ctx, openai.UploadNewParams{
		Bytes: 10, Filename: "x.pdf", MimeType: "application/pdf", Purpose: openai.FilePurposeUserData,
	})
	if err != nil {
		t.Fatalf("create a second upload: %v", err)
	}
	cancelled, err := c.Uploads.Cancel(ctx, other.ID)
	if err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if cancelled.Status != openai.UploadStatusCancelled || cancelled.ID != other.ID {
		t.Errorf("cancelled upload = %+v", cancelled)
	}
}

// The SDK reads the server's errors into its typed error, with the status, type, param and code.
func TestOfficialSDKErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	good, bad := e.sdkClient(keyA, false), e.sdkClient("sk-not-a-key", false)
	_, err := good.Uploads.Cancel(ctx, "upload_missing")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("cancel of an unknown upload: %v, want *openai.Error", err)
	}
	if apiErr.StatusCode != 404 || apiErr.Code != "not_found" || apiErr.Param != "upload_id" || apiErr.Type != invalid {
		t.Errorf("404 error = %d %q %q %q", apiErr.StatusCode, apiErr.Code, apiErr.Param, apiErr.Type)
	}

	_, err = bad.Uploads.Cancel(ctx, "upload_missing")
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" {
		t.Errorf("wrong key: %v", err)
	}

	_, err = good.Uploads.New(ctx, openai.UploadNewParams{
		Bytes: 1, Filename: "f", MimeType: "text/plain", Purpose: "world_domination",
	})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "purpose" {
		t.Errorf("bad purpose: %v", err)
	}
}

// The official SDK lists (filter, both orders, auto-paging at limit 1), deletes, and gets the
// live service's 404 for a deleted File, on the embedded store. internal/replicatest runs the same
// suite on PostgreSQL and S3.
func TestOfficialSDKFiles(t *testing.T) {
	e := newEnv(t)
	filesuite.Run(t, e.URL, keyA, keyB)
}
