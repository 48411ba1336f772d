package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/internal/limits"
	"github.com/uploadkit/uploads/store"
)

// Limits of createUpload, as the live service has them.
const (
	// uploadLifetime is how long an upload stays pending: expires_at = created_at + 3600.
	uploadLifetime = limits.UploadLifetimeSeconds
	// MaxUploadBytes is the largest upload, 8 GiB.
	MaxUploadBytes = limits.MaxUploadBytes
	// MaxPartBytes is the largest part, 64 MiB.
	MaxPartBytes = limits.MaxPartBytes

	minFileExpiresAfter = limits.MinFileExpiresAfterSeconds // one hour
	maxFileExpiresAfter = limits.MaxFileExpiresAfterSeconds // thirty days
)

// batchFileLifetime is how long a File of purpose batch lives when its upload gave no
// expires_after: 30 days, the live service's default.
const batchFileLifetime = limits.BatchFileExpiresAfterSeconds

// CreateUpload records a new pending upload, owned by the key of the request.
func (s *Server) CreateUpload(ctx context.Context, req gen.CreateUploadRequestObject) (gen.CreateUploadResponseObject, error) {
	if req.Body == nil {
		return nil, badRequest("", "", parseErrorMessage)
	}
	body := *req.Body
	if err := checkCreate(body); err != nil {
		return nil, err
	}
	if free, low := s.lowOnSpace(ctx); low {
		return nil, noSpace(free, s.minFree)
	}
	now := s.now().Unix()
	u := store.Upload{
		ID:        newUploadID(),
		Owner:     owner(ctx),
		Filename:  body.Filename,
		Purpose:   string(body.Purpose),
		MIMEType:  body.MIMEType,
		Bytes:     body.Bytes,
		CreatedAt: now,
		ExpiresAt: now + uploadLifetime,
		Status:    store.StatusPending,
	}
	switch {
	case body.ExpiresAfter != nil:
		u.FileExpiresAfter = body.ExpiresAfter.Seconds
	case u.Purpose == "batch":
		// As the live service does: batch Files expire after 30 days unless told otherwise.
		u.FileExpiresAfter = batchFileLifetime
	}
	if err := s.store.CreateUpload(ctx, u); err != nil {
		if errors.Is(err, store.ErrNoSpace) {
			return nil, noSpace(-1, s.minFree)
		}
		return nil, fmt.Errorf("create upload: %w", err)
	}
	return gen.CreateUpload200JSONResponse(uploadJSON(u, nil)), nil
}

// checkCreate repeats the checks of the spec that matter to the store, so that a handler never
// records an upload the spec forbids, whatever ran before it.
func checkCreate(b gen.CreateUploadRequest) *apiError {
	switch {
	case !slices.Contains(limits.Purposes(), string(b.Purpose)):
		return badRequest("purpose", "", "'%s' is not one of %s - 'purpose'", b.Purpose, pyList(limits.Purposes()))
	case strings.TrimSpace(b.Filename) == "":
		return badRequest("filename", codeEmptyString, "Invalid 'filename': empty string. Expected a non-empty file name.")
	case strings.TrimSpace(b.MIMEType) == "":
		return badRequest("mime_type", codeEmptyString, "Invalid 'mime_type': empty string. Expected a MIME type such as 'text/jsonl'.")
	case controlAt(b.Filename) >= 0:
		return controlCharacter("filename", b.Filename)
	case controlAt(b.MIMEType) >= 0:
		return controlCharacter("mime_type", b.MIMEType)
	case b.Bytes < 1:
		return badRequest("bytes", codeBelowMin, "Invalid 'bytes': integer below minimum value. Expected a value >= 1, but got %d instead.", b.Bytes)
	case b.Bytes > MaxUploadBytes:
		return badRequest("bytes", codeAboveMax, "Invalid 'bytes': integer above maximum value. Expected a value <= %d, but got %d instead.", int64(MaxUploadBytes), b.Bytes)
	}
	if err := checkMIMEType(string(b.Purpose), b.MIMEType); err != nil {
		return err
	}
	if ea := b.ExpiresAfter; ea != nil {
		switch {
		case ea.Anchor != gen.FileExpirationAfterAnchorCreatedAt:
			return badRequest("expires_after.anchor", "", "'%s' is not one of ['created_at'] - 'expires_after.anchor'", ea.Anchor)
		case ea.Seconds < minFileExpiresAfter:
			return badRequest("expires_after.seconds", codeBelowMin,
				"Invalid 'expires_after.seconds': integer below minimum value. Expected a value >= %d, but got %d instead.", minFileExpiresAfter, ea.Seconds)
		case ea.Seconds > maxFileExpiresAfter:
			return badRequest("expires_after.seconds", codeAboveMax,
				"Invalid 'expires_after.seconds': integer above maximum value. Expected a value <= %d, but got %d instead.", maxFileExpiresAfter, ea.Seconds)
		}
	}
	return nil
}

// CompleteUpload turns a pending upload into a File made of the given parts, in order.
func (s *Server) CompleteUpload(ctx context.Context, req gen.CompleteUploadRequestObject) (gen.CompleteUploadResponseObject, error) {
	if req.Body == nil {
		return nil, badRequest("", "", parseErrorMessage)
	}
	var md5Hex string
	if req.Body.MD5 != nil {
		md5Hex = strings.ToLower(*req.Body.MD5)
	}
	// Whether the upload may be completed, and when its File expires (expires_after, given at
	// create), the store decides and knows, at the time it commits.
	u, f, err := s.store.Complete(ctx, owner(ctx), req.UploadID, req.Body.PartIDs, md5Hex, newFileID(), s.clock)
	if err != nil {
		return nil, s.fromStore(err, req.UploadID, "complete upload")
	}
	return gen.CompleteUpload200JSONResponse(uploadJSON(u, &f)), nil
}

// CancelUpload turns a pending upload into a cancelled one.
func (s *Server) CancelUpload(ctx context.Context, req gen.CancelUploadRequestObject) (gen.CancelUploadResponseObject, error) {
	u, err := s.store.Cancel(ctx, owner(ctx), req.UploadID, s.now().Unix())
	if err != nil {
		return nil, s.fromStore(err, req.UploadID, "cancel upload")
	}
	return gen.CancelUpload200JSONResponse(uploadJSON(u, nil)), nil
}

// fromStore turns an error of the store into the answer for it, or, when the store failed in a
// way it does not document, into an error saying what was being done (a 500).
func (s *Server) fromStore(err error, uploadID, doing string) error {
	if ae := storeError(err, uploadID, s.maxPart, s.minFree); ae != nil {
		return ae
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s %s: the request was cancelled: %w", doing, uploadID, err)
	}
	return fmt.Errorf("%s %s: %w", doing, uploadID, err)
}

// uploadJSON is the API form of u, with the status the store reported. The file key is left out
// unless the upload completed, as the live service does.
func uploadJSON(u store.Upload, f *store.File) gen.Upload {
	out := gen.Upload{
		ID:        u.ID,
		Object:    gen.UploadObjectUpload,
		Bytes:     u.Bytes,
		CreatedAt: u.CreatedAt,
		ExpiresAt: u.ExpiresAt,
		Filename:  u.Filename,
		Purpose:   gen.Purpose(u.Purpose),
		Status:    gen.UploadStatus(u.Status),
	}
	if f != nil && u.Status == store.StatusCompleted {
		fj := fileJSON(*f)
		out.File = &fj
	}
	return out
}

// fileJSON is the API form of f. status is always "processed" and status_details null, as the
// live service sends them.
func fileJSON(f store.File) gen.FileObject {
	return gen.FileObject{
		ID:        f.ID,
		Object:    gen.FileObjectObjectFile,
		Bytes:     f.Bytes,
		CreatedAt: f.CreatedAt,
		ExpiresAt: f.ExpiresAt,
		Filename:  f.Filename,
		Purpose:   gen.Purpose(f.Purpose),
		Status:    gen.FileObjectStatusProcessed,
	}
}

// clock is the server's clock in Unix seconds, which the store reads when it commits.
func (s *Server) clock() int64 { return s.now().Unix() }

// controlAt is the byte offset of the first control character (U+0000 to U+001F, U+007F to
// U+009F: NUL, tab, newline, escape, ...) in s, or -1. Neither a file name nor a MIME type has
// any use for one; a NUL cannot even be stored in PostgreSQL text, and a newline or an escape
// in a name shown in a terminal or a log line misleads whoever reads it. Both stores see the
// same refusal, because it is made here.
func controlAt(s string) int {
	for i, r := range s {
		if unicode.IsControl(r) {
			return i
		}
	}
	return -1
}

// controlCharacter is the 400 for a field holding a control character.
func controlCharacter(field, value string) *apiError {
	i := controlAt(value)
	r, _ := utf8.DecodeRuneInString(value[i:])
	return badRequest(field, codeInvalidValue,
		"Invalid '%s': control character %U at byte %d. Expected a string without control characters.", field, r, i)
}
