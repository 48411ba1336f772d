package uploads

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// An answer that is no error envelope gives its first 200 bytes, on one line, as the message:
// all of a body of exactly 200, a cut and an ellipsis after 200, never half a character, and
// only the ellipsis when no character starts in the first 200 bytes.
func TestNonJSONErrorSnippet(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	for _, tc := range []struct {
		name, body, want string
	}{
		{"exactly the limit", a(200), a(200)},
		{"one byte over", a(201), a(200) + "…"},
		{"a character across the cut", a(199) + "é" + a(10), a(199) + "…"},
		{"a character ending at the cut", a(198) + "é" + a(10), a(198) + "é…"},
		{"no character starts", strings.Repeat("\x80", 300), "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("x-request-id", "req_test")
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(tc.body))
			})
			c, _ := newTestClient(t, f, specReport(t, "Content-Type", "failed to decode response body"))
			_, err := c.Cancel(t.Context(), "upload_abc")
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("Cancel: got %T %v, want an *APIError", err, err)
			}
			if apiErr.Message != tc.want {
				t.Errorf("Message = %q, want %q", apiErr.Message, tc.want)
			}
		})
	}
}

// APIError.Error puts the details in parentheses only when there are some, and the operation
// first only when there is one.
func TestAPIErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  APIError
		want string
	}{
		{APIError{StatusCode: 401}, "401 Unauthorized"},
		{APIError{Operation: "cancel upload upload_abc", StatusCode: 401}, "cancel upload upload_abc: 401 Unauthorized"},
		{APIError{StatusCode: 400, Message: "Bad."}, "400 Bad Request: Bad."},
		{APIError{StatusCode: 400, Type: "invalid_request_error"}, "400 Bad Request (type invalid_request_error)"},
		{APIError{StatusCode: 404, Code: "not_found"}, "404 Not Found (code not_found)"},
		{APIError{StatusCode: 400, Param: "bytes"}, "400 Bad Request (param bytes)"},
		{APIError{StatusCode: 500, RequestID: "req_1"}, "500 Internal Server Error (request req_1)"},
		{APIError{Operation: "op", StatusCode: 400, Message: "m", Type: "t", Code: "c", Param: "p", RequestID: "r"},
			"op: 400 Bad Request: m (type t, code c, param p, request r)"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}
