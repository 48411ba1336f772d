package server_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/uploadkit/uploads/gen"
)

// Closing the server and the store and opening them again on the same directory loses nothing:
// files download as they were, a pending upload goes on with its parts, and finished uploads
// stay finished.
func TestReopen(t *testing.T) {
	e := newEnv(t)
	content := randomBytes(200_000, 7)

	done := e.createUpload(keyA, int64(len(content)))
	p1 := e.mustAddPart(keyA, done.ID, content[:120_000])
	p2 := e.mustAddPart(keyA, done.ID, content[120_000:])
	file := decode[gen.Upload](t, e.complete(keyA, done.ID, []string{p1, p2}, "")).File

	pending := e.createUpload(keyB, 10)
	early := e.mustAddPart(keyB, pending.ID, []byte("01234"))

	cancelled := e.createUpload(keyA, 1)
	if r := e.do("POST", "/uploads/"+cancelled.ID+"/cancel", keyA, "", nil); r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}

	e.restart()

	got := decode[gen.FileObject](t, e.do("GET", "/files/"+file.ID, keyA, "", nil))
	if got.ID != file.ID || got.Bytes != file.Bytes || got.CreatedAt != file.CreatedAt || got.Filename != file.Filename {
		t.Errorf("file after reopen = %+v, want %+v", got, *file)
	}
	r := e.do("GET", "/files/"+file.ID+"/content", keyA, "", nil)
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, content) {
		t.Errorf("content after reopen: %d, %d bytes, equal %v", r.Status, len(r.Body), bytes.Equal(r.Body, content))
	}
	// Owners survive too.
	checkEnvelope(t, e.do("GET", "/files/"+file.ID, keyB, "", nil), wantEnvelope{404, invalid, "id", "", file.ID})

	late := e.mustAddPart(keyB, pending.ID, []byte("56789"))
	cu := decode[gen.Upload](t, e.complete(keyB, pending.ID, []string{early, late}, ""))
	if cu.CreatedAt != pending.CreatedAt || cu.ExpiresAt != pending.ExpiresAt {
		t.Errorf("pending upload changed across the reopen: %+v, was %+v", cu, pending)
	}
	r = e.do("GET", "/files/"+cu.File.ID+"/content", keyB, "", nil)
	if string(r.Body) != "0123456789" {
		t.Errorf("content of the upload finished after reopen = %q", r.Body)
	}

	checkEnvelope(t, e.complete(keyA, done.ID, []string{p1, p2}, ""), wantEnvelope{400, invalid, "upload_id", "", "already completed"})
	checkEnvelope(t, e.do("POST", "/uploads/"+cancelled.ID+"/cancel", keyA, "", nil),
		wantEnvelope{400, invalid, "upload_id", "", "already cancelled"})
}
