package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"syscall"
	"time"

	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/store"
)

// Error types and codes the server answers with, as the live service spells them.
const (
	typeInvalidRequest = "invalid_request_error"
	typeServer         = "server_error"

	codeInvalidAPIKey   = "invalid_api_key"
	codeNotFound        = "not_found"
	codePartTooLarge    = "part_too_large"
	codeMissingRequired = "missing_required_parameter"
	codeUnknownParam    = "unknown_parameter"
	codeInvalidType     = "invalid_type"
	codeInvalidValue    = "invalid_value"
	codeBelowMin        = "integer_below_min_value"
	codeAboveMax        = "integer_above_max_value"
	codeEmptyString     = "empty_string"
	codeEmptyArray      = "empty_array"

	codeUnsupportedMIMEType = "unsupported_file_mimetype"
	codeUploadTooLarge      = "upload_too_large"
	codeQuotaExceeded       = "storage_quota_exceeded"
	codeInsufficientStorage = "insufficient_storage"
)

// serverErrorMessage is what a 500 says: nothing about the cause, which goes to the log only.
const serverErrorMessage = "The server had an error while processing your request. Sorry about that!"

// apiError is an error answer: an HTTP status and the OpenAI error envelope. Handlers return it as
// their error; the strict server's error handler writes it.
type apiError struct {
	Status  int
	Message string
	Type    string
	Param   string // "" is sent as null
	Code    string // "" is sent as null
	// RetryAfter, when above 0, is sent as retry-after (seconds, rounded up) and retry-after-ms.
	RetryAfter time.Duration
	// DoNotRetry sends x-should-retry: false, for an answer no retry can change.
	DoNotRetry bool
	// Detail adds the top-level `detail` object (the message and code again) that the live
	// service sends beside `error` in some answers, such as its 404 for a File.
	Detail bool
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message)
}

// envelope is the JSON body of e: the spec's ErrorResponse, whose keys the generator keeps in the
// order the live service sends them (x-order in the spec). Every server test runs behind
// conformance's validating handler, so each error answer a test provokes is checked against the
// responses its operation documents.
func (e *apiError) envelope() gen.ErrorResponse {
	var body gen.ErrorResponse
	body.Error.Message, body.Error.Type = e.Message, e.Type
	if e.Param != "" {
		body.Error.Param = &e.Param
	}
	if e.Code != "" {
		body.Error.Code = &e.Code
	}
	if e.Detail {
		body.Detail = &gen.ErrorDetail{Message: body.Error.Message, Code: body.Error.Code}
	}
	return body
}

// badRequest is a 400 invalid_request_error about param (may be empty) with code (may be empty).
func badRequest(param, code, format string, args ...any) *apiError {
	return &apiError{
		Status:  http.StatusBadRequest,
		Message: fmt.Sprintf(format, args...),
		Type:    typeInvalidRequest,
		Param:   param,
		Code:    code,
	}
}

func uploadNotFound(uploadID string) *apiError {
	return &apiError{
		Status:  http.StatusNotFound,
		Message: fmt.Sprintf("No upload found with id '%s'.", uploadID),
		Type:    typeInvalidRequest,
		Param:   "upload_id",
		Code:    codeNotFound,
	}
}

// fileNotFound is the answer of the Files endpoints for a File that does not exist (any more) for
// the key, as the live service words and shapes it: param "id", code null, and the message and
// code again in a top-level `detail` (see testdata/recorded/files-get-404.json).
func fileNotFound(fileID string) *apiError {
	return &apiError{
		Status:  http.StatusNotFound,
		Message: fmt.Sprintf("No such File object: %s", fileID),
		Type:    typeInvalidRequest,
		Param:   "id",
		Detail:  true,
	}
}

func partTooLarge(maxBytes int64) *apiError {
	return &apiError{
		Status:  http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("A part may be at most %d bytes.", maxBytes),
		Type:    typeInvalidRequest,
		Param:   "data",
		Code:    codePartTooLarge,
	}
}

func invalidURL(r *http.Request) *apiError {
	return &apiError{
		Status:  http.StatusNotFound,
		Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path),
		Type:    typeInvalidRequest,
	}
}

// noSpaceRetryAfter is how long a client refused for lack of space is told to wait.
const noSpaceRetryAfter = 30 * time.Second

// noSpace is the answer when the store has no room for new data: 507 Insufficient Storage, a
// server_error with retry-after, which clients retry (the official SDKs retry every 5xx). free is
// the space left, or -1 when unknown (the disk filled during the write).
func noSpace(free, minFree int64) *apiError {
	msg := "The server is out of storage space for new uploads and parts. Cancels, downloads and everything else still work; try again later."
	if free >= 0 {
		msg = fmt.Sprintf("The server has %d bytes of storage free, below its floor of %d bytes, so it takes no new uploads or parts. "+
			"Cancels, downloads and everything else still work; try again later.", free, minFree)
	}
	return &apiError{
		Status:     http.StatusInsufficientStorage,
		Message:    msg,
		Type:       typeServer,
		Code:       codeInsufficientStorage,
		RetryAfter: noSpaceRetryAfter,
	}
}

func internalError() *apiError {
	return &apiError{Status: http.StatusInternalServerError, Message: serverErrorMessage, Type: typeServer}
}

// writeError writes e as the response. The body is pretty-printed with a trailing newline, as the
// live service sends it.
func writeError(w http.ResponseWriter, e *apiError) {
	body, err := json.MarshalIndent(e.envelope(), "", "  ")
	if err != nil {
		// An envelope of strings always marshals; keep the answer well-formed anyway.
		body = []byte(`{"error":{"message":"` + serverErrorMessage + `","type":"server_error","param":null,"code":null}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		setRetryAfter(w.Header(), e.RetryAfter)
	}
	if e.DoNotRetry {
		w.Header().Set("x-should-retry", "false")
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(append(body, '\n'))
}

// storeError turns an error of the store into the answer for it. Errors the store does not
// document become a 500, and what they said is logged, never sent.
func storeError(err error, uploadID string, maxPart, minFree int64) *apiError {
	var (
		state    *store.StateError
		part     *store.PartError
		size     *store.SizeError
		checksum *store.ChecksumError
		full     *store.UploadFullError
		quota    *store.QuotaError
	)
	switch {
	case errors.Is(err, store.ErrNoSpace):
		return noSpace(-1, minFree)
	case errors.As(err, &full):
		return badRequest("data", codeUploadTooLarge,
			"Upload '%s' already holds %d bytes of parts; this part would take it past %d bytes, the most an upload may hold.",
			uploadID, full.Stored, full.Max)
	case errors.As(err, &quota):
		return badRequest("data", codeQuotaExceeded,
			"This API key keeps %d bytes (parts of uploads not completed, and files); this part would take it past its storage quota of %d bytes. Cancel uploads or let files expire to make room.",
			quota.Used, quota.Quota)
	case errors.Is(err, store.ErrNotFound):
		return uploadNotFound(uploadID)
	case errors.As(err, &state):
		return stateError(state)
	case errors.Is(err, store.ErrPartTooLarge):
		return partTooLarge(maxPart)
	case errors.Is(err, store.ErrNoParts):
		return badRequest("part_ids", codeEmptyArray,
			"Invalid 'part_ids': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	case errors.As(err, &part) && errors.Is(err, store.ErrDuplicatePart):
		return badRequest("part_ids", codeInvalidValue,
			"Invalid 'part_ids': part '%s' is listed more than once.", part.PartID)
	case errors.As(err, &part):
		return badRequest("part_ids", codeInvalidValue,
			"Invalid 'part_ids': part '%s' is not a part of upload '%s'.", part.PartID, uploadID)
	case errors.As(err, &size):
		return badRequest("part_ids", codeInvalidValue,
			"The parts hold %d bytes in total, but the upload was created with bytes=%d.", size.Got, size.Declared)
	case errors.As(err, &checksum):
		return badRequest("md5", codeInvalidValue,
			"The MD5 checksum of the uploaded parts is %s, which does not match the md5 given (%s).", checksum.Got, checksum.Want)
	}
	return nil
}

// stateError says why an operation needs a pending upload.
func stateError(e *store.StateError) *apiError {
	var why string
	switch e.Status {
	case store.StatusExpired:
		why = "it has expired; create a new upload"
	default:
		why = fmt.Sprintf("it is already %s", e.Status)
	}
	return badRequest("upload_id", "",
		"Cannot %s upload '%s': %s. Only a pending upload can be changed.", e.Op, e.UploadID, why)
}

// answerError writes the answer for an error a handler or the generated code returned, logging
// the cause of a 500 with the request id. When the response has already started (a download that
// failed half way), nothing more can be sent; the failure is only logged.
//
// A client that hung up is not a fault of the server: the failure it causes (a download cut
// short, a store call cancelled with the request) is logged at INFO as the client's doing, and
// the access log line of the request stays at INFO too.
func (s *Server) answerError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		level, msg := slog.LevelError, "request failed"
		if clientGone(r, err) {
			level, msg = slog.LevelInfo, "client went away"
			if sw := findStatusWriter(w); sw != nil {
				sw.clientGone = true
			}
		}
		s.logger.LogAttrs(r.Context(), level, msg,
			slog.String("request_id", requestID(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("error", err.Error()))
		ae = internalError()
		if !clientGone(r, err) {
			s.metrics.storeErrors.WithLabelValues(s.operationLabel(r, findStatusWriterOrEmpty(w))).Inc()
		}
	}
	if headerWritten(w) {
		if ae.Status >= 500 {
			return
		}
		s.logger.LogAttrs(r.Context(), slog.LevelWarn, "error after the response started",
			slog.String("request_id", requestID(r.Context())),
			slog.String("error", err.Error()))
		return
	}
	writeError(w, ae)
}

// clientGone reports whether err comes from the client having hung up: the request's context is
// done (net/http cancels it when the connection closes), or writing to the connection failed
// because the other end closed it.
func clientGone(r *http.Request, err error) bool {
	return r.Context().Err() != nil ||
		errors.Is(err, context.Canceled) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET)
}
