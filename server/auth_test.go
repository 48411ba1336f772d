package server_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/gen"
)

// Every operation refuses a request without an accepted key, before looking at anything else.
func TestUnauthorized(t *testing.T) {
	e := newEnv(t)
	u := e.createUpload(keyA, 1)
	ops := []struct{ method, path, contentType, body string }{
		{"POST", "/uploads", "application/json", `{"purpose":"batch","filename":"a","bytes":1,"mime_type":"t"}`},
		{"POST", "/uploads/" + u.ID + "/parts", "multipart/form-data; boundary=x", "--x--\r\n"},
		{"POST", "/uploads/" + u.ID + "/complete", "application/json", `{"part_ids":["part_x"]}`},
		{"POST", "/uploads/" + u.ID + "/cancel", "", ""},
		{"GET", "/files/file-x", "", ""},
		{"GET", "/files/file-x/content", "", ""},
	}
	const wrongKey = "sk-wrong-key-that-is-long-enough-to-mask"
	auths := []struct {
		name, header, message string
	}{
		{"no header", "", "You didn't provide an API key"},
		{"empty bearer", "Bearer ", "You didn't provide an API key"},
		{"basic scheme", "Basic " + keyA, "You didn't provide an API key"},
		{"wrong key", "Bearer " + wrongKey, "Incorrect API key provided: sk-wrong" + strings.Repeat("*", len(wrongKey)-12) + "mask."},
		{"key with a suffix", "Bearer " + keyA + "x", "Incorrect API key provided"},
		{"short wrong key", "Bearer abc", "Incorrect API key provided: ***."},
	}
	for _, op := range ops {
		for _, a := range auths {
			t.Run(op.method+" "+op.path+" "+a.name, func(t *testing.T) {
				var body io.Reader
				if op.body != "" {
					body = strings.NewReader(op.body)
				}
				req, err := http.NewRequest(op.method, e.URL+op.path, body)
				if err != nil {
					t.Fatal(err)
				}
				if op.contentType != "" {
					req.Header.Set("Content-Type", op.contentType)
				}
				if a.header != "" {
					req.Header.Set("Authorization", a.header)
				}
				r := e.send(req)
				checkEnvelope(t, r, wantEnvelope{401, invalid, "", "invalid_api_key", a.message})
				if bytes.Contains(r.Body, []byte(wrongKey)) {
					t.Errorf("the answer shows the whole key: %s", r.Body)
				}
			})
		}
	}
}

// An upload and its file are visible only to the key that created them: to another key they do
// not exist, and what it tries leaves them unchanged.
func TestOwnerIsolation(t *testing.T) {
	e := newEnv(t)
	done := e.createUpload(keyA, 4)
	part := e.mustAddPart(keyA, done.ID, []byte("data"))
	f := decode[gen.Upload](t, e.complete(keyA, done.ID, []string{part}, "")).File
	pending := e.createUpload(keyA, 4)
	pendingPart := e.mustAddPart(keyA, pending.ID, []byte("abcd"))

	notFound := func(param, id string) wantEnvelope {
		return wantEnvelope{404, invalid, param, "not_found", id}
	}
	checkEnvelope(t, e.addPart(keyB, pending.ID, []byte("evil")), notFound("upload_id", pending.ID))
	checkEnvelope(t, e.complete(keyB, pending.ID, []string{pendingPart}, ""), notFound("upload_id", pending.ID))
	checkEnvelope(t, e.do("POST", "/uploads/"+pending.ID+"/cancel", keyB, "", nil), notFound("upload_id", pending.ID))
	// The Files endpoints answer as the live service does: "No such File object", param id, code null.
	noFile := wantEnvelope{404, invalid, "id", "", "No such File object: " + f.ID}
	checkEnvelope(t, e.do("GET", "/files/"+f.ID, keyB, "", nil), noFile)
	checkEnvelope(t, e.do("GET", "/files/"+f.ID+"/content", keyB, "", nil), noFile)
	checkEnvelope(t, e.do("DELETE", "/files/"+f.ID, keyB, "", nil), noFile)
	if r := e.do("GET", "/files", keyB, "", nil); r.Status != 200 || strings.Contains(string(r.Body), f.ID) {
		t.Errorf("another key's list: %d %s, want 200 without %s", r.Status, r.Body, f.ID)
	}
	checkEnvelope(t, e.do("GET", "/files?after="+f.ID, keyB, "", nil), wantEnvelope{400, invalid, "after", "", f.ID})
	if r := e.do("GET", "/files/"+f.ID, keyA, "", nil); r.Status != 200 {
		t.Errorf("after another key tried to delete it, the owner's File answers %d %s", r.Status, r.Body)
	}

	// keyB's own upload cannot be completed with keyA's part.
	mine := e.createUpload(keyB, 4)
	checkEnvelope(t, e.complete(keyB, mine.ID, []string{pendingPart}, ""), wantEnvelope{400, invalid, "part_ids", "invalid_value", pendingPart})

	// keyA's objects are intact.
	r := e.complete(keyA, pending.ID, []string{pendingPart}, "")
	got := decode[gen.Upload](t, r)
	content := e.do("GET", "/files/"+got.File.ID+"/content", keyA, "", nil)
	if content.Status != http.StatusOK || string(content.Body) != "abcd" {
		t.Errorf("keyA's content: %d %q", content.Status, content.Body)
	}
}
