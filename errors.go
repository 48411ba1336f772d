package uploads

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// ErrMissingAPIKey is returned by NewClient when no API key is set.
var ErrMissingAPIKey = errors.New("uploads: no API key: set OPENAI_API_KEY or use WithAPIKey")

// APIError is the error for every answer of the API with a status other than 2xx. The fields come
// from the API's error envelope when the body is one; when it is not (an HTML page from a proxy,
// say), Message holds the start of the body and Type, Code and Param are empty.
//
// Test for it with errors.As, or with IsNotFound, IsUnauthorized and IsRateLimited.
type APIError struct {
	// Operation says what the client was doing, such as "cancel upload upload_abc".
	Operation string
	// StatusCode is the HTTP status, such as 404.
	StatusCode int
	// Type is the kind of error, such as "invalid_request_error".
	Type string
	// Code is a machine-readable code, such as "not_found"; empty when the API sent null.
	Code string
	// Param is the request parameter the error is about; empty when the API sent null.
	Param string
	// Message is the API's description of the error.
	Message string
	// RequestID is the x-request-id header, to quote when asking for support.
	RequestID string
	// Header holds the response headers.
	Header http.Header
	// Body is the raw response body, at most the first 1 MiB. Keys of the envelope other than
	// `error` are only there: the `detail` the live service adds to some answers (its 404 for a
	// File, say) repeats the message and code, and is not parsed.
	Body []byte
}

// Error says what was being done, the status, the message, and the type, code and request id
// when there are some.
func (e *APIError) Error() string {
	var b strings.Builder
	if e.Operation != "" {
		b.WriteString(e.Operation)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	var details []string
	if e.Type != "" {
		details = append(details, "type "+e.Type)
	}
	if e.Code != "" {
		details = append(details, "code "+e.Code)
	}
	if e.Param != "" {
		details = append(details, "param "+e.Param)
	}
	if e.RequestID != "" {
		details = append(details, "request "+e.RequestID)
	}
	if len(details) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(details, ", "))
		b.WriteString(")")
	}
	return b.String()
}

// maxSnippet bounds the part of a non-JSON body that goes into APIError.Message.
const maxSnippet = 200

// newAPIError builds the error for a non-2xx answer to the operation op.
func newAPIError(op string, resp *http.Response, body []byte) *APIError {
	e := &APIError{
		Operation:  op,
		StatusCode: resp.StatusCode,
		RequestID:  resp.Header.Get("x-request-id"),
		Header:     resp.Header,
		Body:       body,
	}
	var env ErrorResponse
	if json.Unmarshal(body, &env) == nil && (env.Error.Message != "" || env.Error.Type != "") {
		e.Message, e.Type = env.Error.Message, env.Error.Type
		if env.Error.Param != nil {
			e.Param = *env.Error.Param
		}
		if env.Error.Code != nil {
			e.Code = *env.Error.Code
		}
		return e
	}
	e.Message = snippet(body)
	return e
}

// snippet is the start of a body, on one line, for a message.
func snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > maxSnippet {
		cut := maxSnippet
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// statusOf is the status of the APIError in err's chain, or 0.
func statusOf(err error) int {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// IsNotFound reports whether err is an APIError with status 404: no such upload or file.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsUnauthorized reports whether err is an APIError with status 401: the API key is missing or wrong.
func IsUnauthorized(err error) bool { return statusOf(err) == http.StatusUnauthorized }

// IsRateLimited reports whether err is an APIError with status 429, after the retries ran out.
func IsRateLimited(err error) bool { return statusOf(err) == http.StatusTooManyRequests }

// InvalidParamError reports an argument the client refused before sending anything.
type InvalidParamError struct {
	// Operation says what the client was asked to do, such as "cancel upload".
	Operation string
	// Param names the argument, such as "upload ID".
	Param string
	// Reason says what is wrong with it.
	Reason string
}

// Error says what was being done and what is wrong with which argument.
func (e *InvalidParamError) Error() string {
	return fmt.Sprintf("%s: invalid %s: %s", e.Operation, e.Param, e.Reason)
}

// checkID refuses an ID that is empty or blank, or that would be a dot segment of the path ("." or
// ".."): escaping cannot keep those from moving the request to another route.
func checkID(op, param, id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return &InvalidParamError{Operation: op, Param: param, Reason: "empty"}
	case id == "." || id == "..":
		return &InvalidParamError{Operation: op, Param: param, Reason: fmt.Sprintf("%q is not an ID", id)}
	}
	return nil
}

// ErrCompletedEarlier is matched by errors.Is when Complete's retry was refused because an earlier
// attempt of the same call, whose answer was lost, had completed the upload. See
// CompletedEarlierError.
var ErrCompletedEarlier = errors.New("the upload was completed by an earlier attempt whose answer was lost")

// CompletedEarlierError is Complete's error when an attempt completed the upload but its answer
// never arrived (the connection broke, or the attempt timed out), and the retry was refused
// because the upload was already completed. The upload is completed and its File exists; the
// refusal does not say which File it is (UploadFile finds it in the Files list).
//
// It is not an *APIError: the API refused the retry, not the request. A Complete whose first
// attempt is refused as already completed returns that refusal, an ordinary *APIError.
type CompletedEarlierError struct {
	// Operation says what the client was doing, such as "complete upload upload_abc".
	Operation string
	// UploadID is the upload, which is completed.
	UploadID string
	// Lost is why the answer of the earlier attempt never arrived.
	Lost error
	// Refusal is what the API answered the retry.
	Refusal *APIError
}

// Error says that the upload is completed, and how the answer was lost.
func (e *CompletedEarlierError) Error() string {
	msg := fmt.Sprintf("%s: the upload is completed, by an earlier attempt whose answer was lost (%v)", e.Operation, e.Lost)
	if e.Refusal != nil {
		msg += fmt.Sprintf("; the retry was refused: %d %s", e.Refusal.StatusCode, e.Refusal.Message)
	}
	return msg
}

// Is makes errors.Is(err, ErrCompletedEarlier) true.
func (e *CompletedEarlierError) Is(target error) bool { return target == ErrCompletedEarlier }

// ErrDeletedEarlier is matched by errors.Is when DeleteFile's retry was answered 404 after an
// earlier attempt of the same call, whose answer was lost, may have deleted the File. See
// DeletedEarlierError.
var ErrDeletedEarlier = errors.New("the File is gone, most likely deleted by an earlier attempt whose answer was lost")

// DeletedEarlierError is DeleteFile's error when an attempt may have deleted the File but its
// answer never arrived (the connection broke, the attempt timed out, or a gateway answered 408 or
// 5xx), and the retry was answered 404. The File is gone: what the call was for holds. The lost
// attempt most likely deleted it, but a 404 cannot prove that the File ever existed (an ID that
// never named a File is answered the same way), so DeleteFile does not claim the deletion as its
// own success.
//
// Unlike CompletedEarlierError it unwraps to the 404, the API's true word on the File: IsNotFound
// is true, so code that already treats a 404 from DeleteFile as "already gone" keeps working, and
// errors.Is(err, ErrDeletedEarlier) tells this case from a plain 404. A DeleteFile whose first
// attempt is answered 404 returns that answer, an ordinary *APIError.
type DeletedEarlierError struct {
	// Operation says what the client was doing, such as "delete file file-abc".
	Operation string
	// FileID is the File, which does not exist now.
	FileID string
	// Lost is why the answer of the earlier attempt never arrived.
	Lost error
	// NotFound is what the API answered the retry: 404.
	NotFound *APIError
}

// Error says that the File is gone, that the earlier attempt most likely deleted it, and how its
// answer was lost.
func (e *DeletedEarlierError) Error() string {
	return fmt.Sprintf("%s: the File is gone, most likely deleted by an earlier attempt whose answer was lost (%v); the retry was answered %d %s",
		e.Operation, e.Lost, e.NotFound.StatusCode, e.NotFound.Message)
}

// Is makes errors.Is(err, ErrDeletedEarlier) true.
func (e *DeletedEarlierError) Is(target error) bool { return target == ErrDeletedEarlier }

// Unwrap returns the 404, so that IsNotFound and errors.As find it.
func (e *DeletedEarlierError) Unwrap() error { return e.NotFound }

// refusedAsAlready reads a refusal of an operation on an upload that needed it pending, such as
// "Cannot cancel upload 'upload_abc': it is already cancelled.", and returns the status the
// refusal says the upload is in, with the refusal. It returns "" when err is no such refusal.
//
// The API has no call that reads an upload's status, so its refusal is the only word on it. The
// check is on the message, as the API sends no code for it: "already completed", "already
// cancelled" (or "canceled") and "expired", in a 400 or 409.
func refusedAsAlready(err error) (UploadStatus, *APIError) {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || (apiErr.StatusCode != http.StatusBadRequest && apiErr.StatusCode != http.StatusConflict) {
		return "", nil
	}
	msg := strings.ToLower(apiErr.Message)
	switch {
	case strings.Contains(msg, "already completed"):
		return UploadStatusCompleted, apiErr
	case strings.Contains(msg, "already cancelled"), strings.Contains(msg, "already canceled"):
		return UploadStatusCancelled, apiErr
	case strings.Contains(msg, "expired"):
		return UploadStatusExpired, apiErr
	}
	return "", nil
}
