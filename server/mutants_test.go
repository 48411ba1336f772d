package server_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/uploadkit/uploads/server"
)

// A part's request whose Content-Length is exactly the part limit plus the form's slack is read
// and stored; one byte more is refused before its body is read. The form pads itself with a field
// the server skips, so the whole request is at the limit while its part is within the part limit.
func TestPartRequestAtTheBodyLimit(t *testing.T) {
	const maxPart = 1000
	e := newEnv(t, withMaxPart(maxPart))
	limit := maxPart + server.MultipartSlack
	data := randomBytes(maxPart, 9)
	form := func(size int) (string, []byte) {
		t.Helper()
		_, bare := multipartBody(t, field{"data", data}, field{"pad", nil})
		ct, body := multipartBody(t, field{"data", data}, field{"pad", bytes.Repeat([]byte{'x'}, size-len(bare))})
		if len(body) != size {
			t.Fatalf("the form is %d bytes, want %d", len(body), size)
		}
		return ct, body
	}
	for _, tc := range []struct {
		name   string
		size   int
		status int
	}{
		{"at the limit", limit, http.StatusOK},
		{"one byte over", limit + 1, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := e.createUpload(keyA, maxPart)
			ct, body := form(tc.size)
			r := e.do("POST", "/uploads/"+u.ID+"/parts", keyA, ct, bytes.NewReader(body))
			if r.Status != tc.status {
				t.Fatalf("a request of %d bytes (limit %d): status %d, want %d: %s", tc.size, limit, r.Status, tc.status, r.Body)
			}
			if tc.status != http.StatusOK {
				checkEnvelope(t, r, wantEnvelope{413, invalid, "data", "part_too_large", "at most 1000 bytes"})
				return
			}
			id := decode[struct{ ID string }](t, r).ID
			done := decode[struct {
				Status string
				File   *struct{ Bytes int64 }
			}](t, e.complete(keyA, u.ID, []string{id}, ""))
			if done.Status != "completed" || done.File == nil || done.File.Bytes != maxPart {
				t.Errorf("completed upload: status %q, file %+v; want completed with %d bytes", done.Status, done.File, maxPart)
			}
		})
	}
}

// A control character at the very first byte of filename or mime_type is refused, and the
// message gives its offset, 0.
func TestControlCharacterAtTheFirstByte(t *testing.T) {
	e := newEnv(t)
	for _, field := range []string{"filename", "mime_type"} {
		t.Run(field, func(t *testing.T) {
			body := map[string]any{"purpose": "user_data", "filename": "a.jsonl", "bytes": 10, "mime_type": "text/plain"}
			body[field] = "\x01" + body[field].(string)
			r := e.doJSON("POST", "/uploads", keyA, body)
			checkEnvelope(t, r, wantEnvelope{400, invalid, field, "invalid_value", "control character U+0001 at byte 0."})
		})
	}
}

// An array sent where the schema asks for no array is a wrong type on its field, like any other,
// never a failure of the server.
func TestArrayWhereNoArrayIsAsked(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		field string
		value any
		want  string
	}{
		{"filename", []any{1.5}, "Invalid type for 'filename': expected a string, but got an array instead."},
		{"bytes", []any{1.5}, "Invalid type for 'bytes': expected an integer, but got an array instead."},
	} {
		t.Run(tc.field, func(t *testing.T) {
			body := map[string]any{"purpose": "user_data", "filename": "a.jsonl", "bytes": 10, "mime_type": "text/plain"}
			body[tc.field] = tc.value
			checkEnvelope(t, e.doJSON("POST", "/uploads", keyA, body), wantEnvelope{400, invalid, tc.field, "invalid_type", tc.want})
		})
	}
}

// An unknown top-level parameter whose name is a number is named as sent, not as an index.
func TestUnknownParameterNamedLikeAnIndex(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"purpose": "user_data", "filename": "a.jsonl", "bytes": 10, "mime_type": "text/plain", "7": 1}
	checkEnvelope(t, e.doJSON("POST", "/uploads", keyA, body), wantEnvelope{400, invalid, "7", "unknown_parameter", "Unknown parameter: '7'."})
}

// A body sent to an operation that takes none is refused, saying so.
func TestBodyWhereNoneIsTaken(t *testing.T) {
	e := newEnv(t)
	u := e.createUpload(keyA, 10)
	r := e.doJSON("POST", "/uploads/"+u.ID+"/cancel", keyA, "{}")
	checkEnvelope(t, r, wantEnvelope{400, invalid, "", "", "This endpoint takes no request body; send none (Content-Length: 0)."})
}

// A number where a string is asked is named for what it is: an integer, or a decimal.
func TestWrongTypeNamesTheNumber(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		value any
		kind  string
	}{
		{5, "an integer"},
		{1.5, "a decimal"},
	} {
		body := map[string]any{"purpose": "user_data", "filename": tc.value, "bytes": 10, "mime_type": "text/plain"}
		checkEnvelope(t, e.doJSON("POST", "/uploads", keyA, body), wantEnvelope{400, invalid, "filename", "invalid_type",
			"Invalid type for 'filename': expected a string, but got " + tc.kind + " instead."})
	}
}
