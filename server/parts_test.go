package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/uploadkit/uploads/gen"
)

// partFiles counts the files holding parts of an upload, in the layout sqlitestore documents
// (dir/parts/<upload id>/...): the proof that a refused part left nothing behind.
func (e *env) partFiles(uploadID string) int {
	e.t.Helper()
	if err := e.store.Settle(context.Background()); err != nil { // files the remover has yet to remove
		e.t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(e.dir, "parts", uploadID))
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	if err != nil {
		e.t.Fatalf("count part files: %v", err)
	}
	n := 0
	for _, d := range entries {
		if d.Type().IsRegular() {
			n++
		}
	}
	return n
}

func TestAddPartForm(t *testing.T) {
	const maxPart = 1000
	e := newEnv(t, withMaxPart(maxPart))
	u := e.createUpload(keyA, 100)
	path := "/uploads/" + u.ID + "/parts"
	post := func(ct string, body []byte) reply {
		return e.do("POST", path, keyA, ct, bytes.NewReader(body))
	}
	form := func(fields ...field) reply { return post(multipartBody(t, fields...)) }

	tests := []struct {
		name  string
		reply func() reply
		want  wantEnvelope
	}{
		{"no data field", func() reply { return form(field{"file", []byte("x")}) },
			wantEnvelope{400, invalid, "data", "missing_required_parameter", "Missing required parameter: 'data'."}},
		{"empty form", func() reply { return form() },
			wantEnvelope{400, invalid, "data", "missing_required_parameter", "'data'"}},
		{"two data fields", func() reply { return form(field{"data", []byte("one")}, field{"data", []byte("two")}) },
			wantEnvelope{400, invalid, "data", "", "more than one 'data' field"}},
		{"not multipart", func() reply { return post("application/octet-stream", []byte("raw")) },
			wantEnvelope{400, invalid, "data", "", "multipart/form-data"}},
		{"no boundary", func() reply { return post("multipart/form-data", []byte("raw")) },
			wantEnvelope{400, invalid, "data", "", "multipart/form-data"}},
		{"broken form", func() reply { return post("multipart/form-data; boundary=xyz", []byte("--xyz\r\nnot a header\r\n")) },
			wantEnvelope{400, invalid, "data", "", "multipart/form-data"}},
		{"one byte over the limit", func() reply { return form(field{"data", randomBytes(maxPart+1, 2)}) },
			wantEnvelope{413, invalid, "data", "part_too_large", "at most 1000 bytes"}},
		{"far over the limit", func() reply { return form(field{"data", randomBytes(100*maxPart, 3)}) },
			wantEnvelope{413, invalid, "data", "part_too_large", "at most 1000 bytes"}},
		{"over the limit in an ignored field", func() reply {
			return form(field{"padding", randomBytes(100<<10, 4)}, field{"data", []byte("x")})
		}, wantEnvelope{413, invalid, "data", "part_too_large", "at most 1000 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkEnvelope(t, tt.reply(), tt.want)
			if n := e.partFiles(u.ID); n != 0 {
				t.Errorf("%d part files after a refused part", n)
			}
		})
	}

	t.Run("a part of exactly the limit, among other fields", func(t *testing.T) {
		data := randomBytes(maxPart, 5)
		r := form(field{"purpose", []byte("ignored")}, field{"data", data}, field{"note", []byte("ignored")})
		p := decode[gen.UploadPart](t, r)
		if p.UploadID != u.ID || e.partFiles(u.ID) != 1 {
			t.Errorf("part = %+v, %d files", p, e.partFiles(u.ID))
		}
	})
}

// A part whose Content-Length says it is too large is refused before its body is read, and a
// streamed one (no Content-Length) once the limit is passed.
func TestAddPartTooLarge(t *testing.T) {
	e := newEnv(t, withMaxPart(1000))
	u := e.createUpload(keyA, 100)
	url := e.URL + "/uploads/" + u.ID + "/parts"

	t.Run("declared", func(t *testing.T) {
		// The body would be 1 GiB; the server answers without reading it.
		req, err := http.NewRequest("POST", url, io.LimitReader(zeros{}, 1<<30))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = 1 << 30
		req.Header.Set("Authorization", "Bearer "+keyA)
		req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
		checkEnvelope(t, e.send(req), wantEnvelope{413, invalid, "data", "part_too_large", "at most 1000 bytes"})
	})
	t.Run("streamed", func(t *testing.T) {
		ct, body := multipartBody(t, field{"data", randomBytes(5000, 6)})
		req, err := http.NewRequest("POST", url, io.MultiReader(bytes.NewReader(body))) // unknown length
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+keyA)
		req.Header.Set("Content-Type", ct)
		if req.ContentLength != 0 {
			t.Fatalf("the request has a Content-Length (%d); the case needs a chunked body", req.ContentLength)
		}
		checkEnvelope(t, e.send(req), wantEnvelope{413, invalid, "data", "part_too_large", "at most 1000 bytes"})
	})
	if n := e.partFiles(u.ID); n != 0 {
		t.Errorf("%d part files after refused parts", n)
	}
}

// The default limit is the live service's: a part of exactly 64 MiB is accepted, one byte more is
// refused.
func TestAddPart64MiB(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("sends 128 MiB: too slow with -short or -race (the limit itself is tested with a small one)")
	}
	e := newEnv(t)
	u := e.createUpload(keyA, 64<<20)
	data := make([]byte, 64<<20)
	id := e.mustAddPart(keyA, u.ID, data)
	r := e.addPart(keyA, u.ID, append(data, 0))
	checkEnvelope(t, r, wantEnvelope{413, invalid, "data", "part_too_large", "at most 67108864 bytes"})
	if r := e.complete(keyA, u.ID, []string{id}, ""); r.Status != http.StatusOK {
		t.Errorf("complete: %d %s", r.Status, r.Body)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// Parts not named in part_ids are left out of the File: a part whose answer was lost and that the
// client sent again leaves an orphan, and completing with the parts the client knows of gives the
// right content.
func TestCompleteIgnoresPartsNotNamed(t *testing.T) {
	e := newEnv(t)
	u := e.createUpload(keyA, 6)
	p1 := e.mustAddPart(keyA, u.ID, []byte("abc"))
	e.mustAddPart(keyA, u.ID, []byte("abc")) // the same part sent twice: the first answer was lost
	e.mustAddPart(keyA, u.ID, []byte("XYZ"))
	p2 := e.mustAddPart(keyA, u.ID, []byte("def"))
	done := decode[gen.Upload](t, e.complete(keyA, u.ID, []string{p1, p2}, ""))
	if done.File == nil || done.File.Bytes != 6 {
		t.Fatalf("completed upload = %+v", done)
	}
	r := e.do("GET", "/files/"+done.File.ID+"/content", keyA, "", nil)
	if r.Status != 200 || string(r.Body) != "abcdef" {
		t.Errorf("content = %d %q, want 200 %q", r.Status, r.Body, "abcdef")
	}
}
