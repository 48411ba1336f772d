package uploads

// This file extends the generated client (gen.Client) with the Uploads operations: Create,
// Complete and Cancel, with their params and their checks. Client and NewClient are in client.go,
// AddPart in part.go, the Files calls in files.go, UploadFile and its kin in upload_*.go, and the
// call options in calloptions.go.

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/internal/limits"
)

// CreateParams describes the file an upload will carry.
type CreateParams struct {
	// Filename is the name of the file. Required.
	Filename string
	// Purpose is what the file is for, such as PurposeFineTune. Required.
	Purpose Purpose
	// Bytes is the size of the whole file: at least 1, at most MaxUploadSize. Required.
	Bytes int64
	// MIMEType is the type of the file, such as "text/jsonl"; it must be one the API supports for
	// the purpose. Required.
	MIMEType string
	// ExpiresAfter, when not zero, makes the resulting File expire this long after it is created:
	// whole seconds from one hour to 30 days.
	ExpiresAfter time.Duration
}

// The range the API allows for CreateParams.ExpiresAfter.
const (
	minExpiresAfter = time.Duration(limits.MinFileExpiresAfterSeconds) * time.Second
	maxExpiresAfter = time.Duration(limits.MaxFileExpiresAfterSeconds) * time.Second
)

func (p CreateParams) request(op string) (gen.CreateUploadRequest, error) {
	bad := func(param, reason string) error {
		return &InvalidParamError{Operation: op, Param: param, Reason: reason}
	}
	switch {
	case strings.TrimSpace(p.Filename) == "":
		return gen.CreateUploadRequest{}, bad("filename", "empty")
	case strings.TrimSpace(string(p.Purpose)) == "":
		return gen.CreateUploadRequest{}, bad("purpose", "empty")
	case p.Bytes < 1 || p.Bytes > MaxUploadSize:
		return gen.CreateUploadRequest{}, bad("bytes", fmt.Sprintf("%d is not between 1 and %d", p.Bytes, MaxUploadSize))
	case strings.TrimSpace(p.MIMEType) == "":
		return gen.CreateUploadRequest{}, bad("MIME type", "empty")
	}
	req := gen.CreateUploadRequest{Filename: p.Filename, Purpose: p.Purpose, Bytes: p.Bytes, MIMEType: p.MIMEType}
	if p.ExpiresAfter != 0 {
		if p.ExpiresAfter < minExpiresAfter || p.ExpiresAfter > maxExpiresAfter || p.ExpiresAfter%time.Second != 0 {
			return gen.CreateUploadRequest{}, bad("expires after", fmt.Sprintf("%v is not whole seconds from %v to %v", p.ExpiresAfter, minExpiresAfter, maxExpiresAfter))
		}
		req.ExpiresAfter = &gen.FileExpirationAfter{Anchor: gen.FileExpirationAfterAnchorCreatedAt, Seconds: int64(p.ExpiresAfter / time.Second)}
	}
	return req, nil
}

// Create creates an upload that parts can then be added to. The upload is pending and expires an
// hour after it is created.
func (c *Client) Create(ctx context.Context, p CreateParams, opts ...CallOption) (*Upload, error) {
	const op = "create upload"
	body, err := p.request(op)
	if err != nil {
		return nil, err
	}
	var up Upload
	err = c.callJSON(ctx, request{op: op, send: func(ctx context.Context) (*http.Response, error) {
		return c.api.CreateUpload(ctx, body)
	}}, opts, &up)
	if err != nil {
		return nil, err
	}
	return &up, nil
}

var md5Hex = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)

// CompleteParams says how to complete an upload.
type CompleteParams struct {
	// PartIDs are the IDs of the parts, in the order of the file (AddPart returns each). Parts of
	// the upload not named here are left out of the File. Required.
	PartIDs []string
	// MD5, when not empty, is the MD5 of the whole file as 32 hexadecimal digits, for the API to
	// check before it completes the upload.
	MD5 string
}

// Complete completes an upload with the parts p names, in that order, checking p.MD5 when given.
// The returned upload is completed and carries its File.
//
// Completing is not idempotent, yet it is retried like every call, since an attempt that failed
// may well not have reached the API. When an attempt may have completed the upload without its
// answer arriving and the retry is refused as already completed, the error is a
// *CompletedEarlierError (errors.Is(err, ErrCompletedEarlier)): the upload is completed, its File
// exists, and the API will not say which it is again.
func (c *Client) Complete(ctx context.Context, uploadID string, p CompleteParams, opts ...CallOption) (*Upload, error) {
	up, _, err := c.complete(ctx, uploadID, p.PartIDs, p.MD5, opts)
	return up, err
}

// complete is Complete, also saying how its attempts went.
func (c *Client) complete(ctx context.Context, uploadID string, partIDs []string, md5 string, opts []CallOption) (*Upload, attempts, error) {
	const what = "complete upload"
	var (
		up Upload
		h  attempts
	)
	if err := checkID(what, "upload ID", uploadID); err != nil {
		return nil, h, err
	}
	op := what + " " + uploadID
	if len(partIDs) == 0 {
		return nil, h, &InvalidParamError{Operation: op, Param: "part IDs", Reason: "none given"}
	}
	for i, id := range partIDs {
		if strings.TrimSpace(id) == "" {
			return nil, h, &InvalidParamError{Operation: op, Param: "part IDs", Reason: fmt.Sprintf("ID %d is empty", i)}
		}
	}
	body := gen.CompleteUploadRequest{PartIDs: partIDs}
	if md5 != "" {
		if !md5Hex.MatchString(md5) {
			return nil, h, &InvalidParamError{Operation: op, Param: "MD5", Reason: fmt.Sprintf("%q is not 32 hexadecimal digits", md5)}
		}
		body.MD5 = &md5
	}
	err := c.callJSON(ctx, request{op: op, history: &h, send: func(ctx context.Context) (*http.Response, error) {
		return c.api.CompleteUpload(ctx, uploadID, body)
	}}, opts, &up)
	if err != nil {
		if status, refusal := refusedAsAlready(err); h.lost != nil && status == UploadStatusCompleted {
			return nil, h, &CompletedEarlierError{Operation: op, UploadID: uploadID, Lost: h.lost, Refusal: refusal}
		}
		return nil, h, err
	}
	return &up, h, nil
}

// Cancel cancels a pending upload; no part can be added to it afterwards. The returned upload is
// cancelled.
//
// Cancelling is not idempotent, yet it is retried like every call. When an attempt may have
// cancelled the upload without its answer arriving and the retry is refused as already cancelled,
// Cancel succeeds: the upload is cancelled. The API answered no attempt with the upload, so the
// returned one holds only its ID, object and status, and CaptureResponse records the refusal with
// AnswerLost set. A first attempt refused as already cancelled is an *APIError, as ever.
func (c *Client) Cancel(ctx context.Context, uploadID string, opts ...CallOption) (*Upload, error) {
	up, _, err := c.cancel(ctx, uploadID, opts)
	return up, err
}

// cancel is Cancel, also saying how its attempts went.
func (c *Client) cancel(ctx context.Context, uploadID string, opts []CallOption) (*Upload, attempts, error) {
	const what = "cancel upload"
	var h attempts
	if err := checkID(what, "upload ID", uploadID); err != nil {
		return nil, h, err
	}
	var up Upload
	err := c.callJSON(ctx, request{op: what + " " + uploadID, history: &h, send: func(ctx context.Context) (*http.Response, error) {
		return c.api.CancelUpload(ctx, uploadID)
	}}, opts, &up)
	if err != nil {
		status, refusal := refusedAsAlready(err)
		if h.lost == nil || status != UploadStatusCancelled {
			return nil, h, err
		}
		if cc := applyCallOptions(opts); cc.response != nil {
			*cc.response = Response{StatusCode: refusal.StatusCode, Header: refusal.Header, Body: refusal.Body, AnswerLost: true}
		}
		return &Upload{ID: uploadID, Object: gen.UploadObjectUpload, Status: UploadStatusCancelled}, h, nil
	}
	return &up, h, nil
}
