package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store/sqlitestore"
)

// TestPartForAFinishedUploadIsRefusedBeforeItsForm sends bad forms, and a part over the limit,
// to uploads that cannot take a part: the answer is the upload's state, found before the body is
// read, whatever is wrong with the body. An unknown upload is a 404 the same way.
func TestPartForAFinishedUploadIsRefusedBeforeItsForm(t *testing.T) {
	const maxPart = 100
	e := newEnv(t, withMaxPart(maxPart))

	completed := e.createUpload(keyA, 2)
	e.complete(keyA, completed.ID, []string{e.mustAddPart(keyA, completed.ID, []byte("ab"))}, "")
	cancelled := e.createUpload(keyA, 2)
	if r := e.do("POST", "/uploads/"+cancelled.ID+"/cancel", keyA, "", nil); r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	expired := e.createUpload(keyA, 2)
	e.clock.Advance(time.Hour)
	// The other two were created an hour ago too, but their status is final.

	bodies := []struct {
		name        string
		contentType string
		body        []byte
	}{
		{"no data field", "", nil},
		{"two data fields", "", nil},
		{"a part over the limit", "", nil},
		{"a malformed form", "multipart/form-data; boundary=xyz", []byte("--xyz\r\nnot a header line\r\n\r\nab")},
	}
	bodies[0].contentType, bodies[0].body = multipartBody(t, field{"file", []byte("ab")})
	bodies[1].contentType, bodies[1].body = multipartBody(t, field{"data", []byte("a")}, field{"data", []byte("b")})
	bodies[2].contentType, bodies[2].body = multipartBody(t, field{"data", bytes.Repeat([]byte("x"), maxPart+1)})

	uploads := []struct {
		status, id string
	}{
		{"is already completed", completed.ID},
		{"is already cancelled", cancelled.ID},
		{"has expired", expired.ID},
	}
	for _, u := range uploads {
		for _, b := range bodies {
			t.Run(u.status+"/"+b.name, func(t *testing.T) {
				r := e.do("POST", "/uploads/"+u.id+"/parts", keyA, b.contentType, bytes.NewReader(b.body))
				checkEnvelope(t, r, wantEnvelope{400, invalid, "upload_id", "", "Cannot add a part to upload '" + u.id + "': it " + u.status})
			})
		}
	}
	for _, b := range bodies {
		t.Run("unknown upload/"+b.name, func(t *testing.T) {
			r := e.do("POST", "/uploads/upload_0123456789abcdef0123456789abcdef/parts", keyA, b.contentType, bytes.NewReader(b.body))
			if r.Status != http.StatusNotFound {
				t.Errorf("status = %d, want 404: %s", r.Status, r.Body)
			}
		})
		t.Run("another owner's upload/"+b.name, func(t *testing.T) {
			r := e.do("POST", "/uploads/"+completed.ID+"/parts", keyB, b.contentType, bytes.NewReader(b.body))
			if r.Status != http.StatusNotFound {
				t.Errorf("status = %d, want 404: %s", r.Status, r.Body)
			}
		})
	}
}

// TestCreateUploadRefusesABlankMIMEType: a mime_type of spaces passes the spec's minLength, and
// must be refused like an empty one. The filename is held to the same rule.
func TestCreateUploadRefusesBlankStrings(t *testing.T) {
	e := newEnv(t)
	for _, blank := range []string{" ", "   ", "\t", " \n "} {
		for _, field := range []string{"mime_type", "filename"} {
			body := map[string]any{"purpose": "batch", "filename": "a.jsonl", "bytes": 10, "mime_type": "text/jsonl"}
			body[field] = blank
			t.Run(field+"/"+strings.ReplaceAll(blank, "\n", `\n`), func(t *testing.T) {
				r := e.doJSON("POST", "/uploads", keyA, body)
				checkEnvelope(t, r, wantEnvelope{400, invalid, field, "empty_string", "empty string"})
			})
		}
	}
}

// TestNewRefusesAnEmptyAPIKey: an empty key in the list, wherever it stands, would let a request
// whose bearer token is empty in, so New refuses the config.
func TestNewRefusesAnEmptyAPIKey(t *testing.T) {
	st, err := sqlitestore.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name string
		keys []string
		want string // a substring of the error, or "" for none
	}{
		{"one good key", []string{keyA}, ""},
		{"two good keys", []string{keyA, keyB}, ""},
		{"no key", nil, "no API key"},
		{"an empty list", []string{}, "no API key"},
		{"only an empty key", []string{""}, "API key 0 is empty"},
		{"an empty key first", []string{"", keyA}, "API key 0 is empty"},
		{"an empty key last", []string{keyA, keyB, ""}, "API key 2 is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := server.New(server.Config{Store: st, APIKeys: tt.keys, Logger: logger, SweepInterval: -1})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				srv.Close()
				return
			}
			if err == nil {
				srv.Close()
				t.Fatalf("New accepted the keys %q", tt.keys)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error saying %q", err, tt.want)
			}
		})
	}
	if _, err := server.New(server.Config{APIKeys: []string{keyA}, Logger: logger, SweepInterval: -1}); err == nil || !strings.Contains(err.Error(), "no store") {
		t.Errorf("New without a store: %v, want an error saying so", err)
	}
}

// TestCreateUploadRefusesControlCharacters: a NUL, or any other control character, in filename
// or mime_type is a 400 naming the field, on any store (PostgreSQL cannot store a NUL, SQLite
// can: the server refuses it before either sees it). Blank strings keep their own refusal.
func TestCreateUploadRefusesControlCharacters(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ name, value string }{
		{"NUL", "a\x00b"},
		{"NUL last", "a.jsonl\x00"},
		{"newline", "a\nb"},
		{"tab", "a\tb"},
		{"escape", "a\x1b[31mb"},
		{"DEL", "a\x7fb"},
		{"C1", "a\u0085b"},
	} {
		for _, field := range []string{"filename", "mime_type"} {
			body := map[string]any{"purpose": "user_data", "filename": "a.jsonl", "bytes": 10, "mime_type": "text/plain"}
			body[field] = tc.value
			if field == "mime_type" {
				body[field] = `text/plain; name="` + tc.value + `"`
			}
			t.Run(field+"/"+tc.name, func(t *testing.T) {
				r := e.doJSON("POST", "/uploads", keyA, body)
				checkEnvelope(t, r, wantEnvelope{400, invalid, field, "invalid_value", "control character"})
			})
		}
	}
	// Letters of any script are no control characters.
	body := map[string]any{"purpose": "user_data", "filename": "données é 数据.jsonl", "bytes": 10, "mime_type": "text/plain"}
	if r := e.doJSON("POST", "/uploads", keyA, body); r.Status != http.StatusOK {
		t.Errorf("a file name in other scripts: status %d: %s", r.Status, r.Body)
	}
}
