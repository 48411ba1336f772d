package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

const invalid = "invalid_request_error"

func TestCreateUploadErrors(t *testing.T) {
	e := newEnv(t)
	valid := func(change func(map[string]any)) map[string]any {
		b := map[string]any{"purpose": "batch", "filename": "a.jsonl", "bytes": 10, "mime_type": "text/jsonl"}
		change(b)
		return b
	}
	tests := []struct {
		name string
		body any
		want wantEnvelope
	}{
		{"unknown purpose", valid(func(b map[string]any) { b["purpose"] = "world_domination" }), wantEnvelope{
			400, invalid, "purpose", "",
			"'world_domination' is not one of ['fine-tune', 'assistants', 'batch', 'user_data', 'vision', 'evals'] - 'purpose'"}},
		{"purpose missing", valid(func(b map[string]any) { delete(b, "purpose") }), wantEnvelope{
			400, invalid, "purpose", "missing_required_parameter", "Missing required parameter: 'purpose'."}},
		{"filename missing", valid(func(b map[string]any) { delete(b, "filename") }), wantEnvelope{
			400, invalid, "filename", "missing_required_parameter", "'filename'"}},
		{"filename empty", valid(func(b map[string]any) { b["filename"] = "" }), wantEnvelope{
			400, invalid, "filename", "empty_string", "empty string"}},
		{"mime_type empty", valid(func(b map[string]any) { b["mime_type"] = "" }), wantEnvelope{
			400, invalid, "mime_type", "empty_string", "empty string"}},
		{"mime_type missing", valid(func(b map[string]any) { delete(b, "mime_type") }), wantEnvelope{
			400, invalid, "mime_type", "missing_required_parameter", "'mime_type'"}},
		{"bytes zero", valid(func(b map[string]any) { b["bytes"] = 0 }), wantEnvelope{
			400, invalid, "bytes", "integer_below_min_value", "Expected a value >= 1, but got 0 instead."}},
		{"bytes over 8 GiB", valid(func(b map[string]any) { b["bytes"] = int64(8<<30) + 1 }), wantEnvelope{
			400, invalid, "bytes", "integer_above_max_value", "Expected a value <= 8589934592, but got 8589934593 instead."}},
		{"bytes a string", valid(func(b map[string]any) { b["bytes"] = "10" }), wantEnvelope{
			400, invalid, "bytes", "invalid_type", "expected an integer, but got a string instead"}},
		{"bytes a decimal", valid(func(b map[string]any) { b["bytes"] = 1.5 }), wantEnvelope{
			400, invalid, "bytes", "invalid_type", "expected an integer"}},
		{"unknown field", valid(func(b map[string]any) { b["colour"] = "blue" }), wantEnvelope{
			400, invalid, "colour", "unknown_parameter", "Unknown parameter: 'colour'."}},
		{"field of the wrong case", valid(func(b map[string]any) { b["Purpose"] = "batch" }), wantEnvelope{
			400, invalid, "Purpose", "unknown_parameter", "'Purpose'"}},
		{"bad anchor", valid(func(b map[string]any) {
			b["expires_after"] = map[string]any{"anchor": "last_used_at", "seconds": 3600}
		}), wantEnvelope{400, invalid, "expires_after.anchor", "", "'last_used_at' is not one of ['created_at']"}},
		{"expiry too short", valid(func(b map[string]any) {
			b["expires_after"] = map[string]any{"anchor": "created_at", "seconds": 3599}
		}), wantEnvelope{400, invalid, "expires_after.seconds", "integer_below_min_value", ">= 3600"}},
		{"expiry too long", valid(func(b map[string]any) {
			b["expires_after"] = map[string]any{"anchor": "created_at", "seconds": 2592001}
		}), wantEnvelope{400, invalid, "expires_after.seconds", "integer_above_max_value", "<= 2592000"}},
		{"expiry without seconds", valid(func(b map[string]any) {
			b["expires_after"] = map[string]any{"anchor": "created_at"}
		}), wantEnvelope{400, invalid, "expires_after.seconds", "missing_required_parameter", "'expires_after.seconds'"}},
		{"expiry with an unknown field", valid(func(b map[string]any) {
			b["expires_after"] = map[string]any{"anchor": "created_at", "seconds": 3600, "days": 1}
		}), wantEnvelope{400, invalid, "expires_after.days", "unknown_parameter", "'expires_after.days'"}},
		{"not JSON", `{"purpose": "batch",`, wantEnvelope{400, invalid, "", "", "could not parse the JSON body"}},
		{"an array", `[]`, wantEnvelope{400, invalid, "", "invalid_type", "expected an object"}},
		{"JSON null", `null`, wantEnvelope{400, invalid, "", "invalid_value", "Invalid request body: Value is not nullable."}},
		{"no body", "", wantEnvelope{400, invalid, "", "", "could not parse the JSON body"}},
		{"body over 1 MiB", valid(func(b map[string]any) { b["filename"] = strings.Repeat("x", 1<<20) }), wantEnvelope{
			400, invalid, "", "", "larger than 1048576 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkEnvelope(t, e.doJSON("POST", "/uploads", keyA, tt.body), tt.want)
		})
	}

	t.Run("wrong content type", func(t *testing.T) {
		r := e.do("POST", "/uploads", keyA, "text/plain", strings.NewReader(`{}`))
		checkEnvelope(t, r, wantEnvelope{400, invalid, "", "", "Content-Type"})
	})
	t.Run("every purpose and the size limits are accepted", func(t *testing.T) {
		for p, mimeType := range map[string]string{
			"assistants": "application/pdf", "batch": "text/jsonl", "fine-tune": "application/jsonl",
			"vision": "image/png", "user_data": "application/octet-stream", "evals": "text/jsonl",
		} {
			for _, size := range []int64{1, 8 << 30} {
				r := e.doJSON("POST", "/uploads", keyA, map[string]any{
					"purpose": p, "filename": "f", "bytes": size, "mime_type": mimeType,
					"expires_after": map[string]any{"anchor": "created_at", "seconds": 2592000},
				})
				if r.Status != http.StatusOK {
					t.Errorf("purpose %s, bytes %d: %d %s", p, size, r.Status, r.Body)
				}
			}
		}
	})
}

func TestCompleteErrors(t *testing.T) {
	e := newEnv(t)
	u := e.createUpload(keyA, 10)
	p1 := e.mustAddPart(keyA, u.ID, []byte("01234"))
	p2 := e.mustAddPart(keyA, u.ID, []byte("56789"))
	short := e.mustAddPart(keyA, u.ID, []byte("abc"))
	other := e.createUpload(keyA, 5)
	foreign := e.mustAddPart(keyA, other.ID, []byte("zzzzz"))
	path := "/uploads/" + u.ID + "/complete"

	tests := []struct {
		name string
		body any
		want wantEnvelope
	}{
		{"no part_ids", map[string]any{}, wantEnvelope{400, invalid, "part_ids", "missing_required_parameter", "'part_ids'"}},
		{"empty part_ids", map[string]any{"part_ids": []string{}}, wantEnvelope{400, invalid, "part_ids", "empty_array", "empty array"}},
		{"empty part id", map[string]any{"part_ids": []string{p1, ""}}, wantEnvelope{400, invalid, "part_ids[1]", "empty_string", "'part_ids[1]'"}},
		{"part_ids not an array", map[string]any{"part_ids": p1}, wantEnvelope{400, invalid, "part_ids", "invalid_type", "expected an array"}},
		{"bad md5", map[string]any{"part_ids": []string{p1, p2}, "md5": "nothex"}, wantEnvelope{400, invalid, "md5", "invalid_value", "'md5'"}},
		{"unknown field", map[string]any{"part_ids": []string{p1, p2}, "sha1": "x"}, wantEnvelope{400, invalid, "sha1", "unknown_parameter", "'sha1'"}},
		{"duplicate part", map[string]any{"part_ids": []string{p1, p1}}, wantEnvelope{400, invalid, "part_ids", "invalid_value", p1}},
		{"part of another upload", map[string]any{"part_ids": []string{p1, foreign}}, wantEnvelope{400, invalid, "part_ids", "invalid_value", foreign}},
		{"unknown part", map[string]any{"part_ids": []string{p1, "part_00000000000000000000000000000000"}}, wantEnvelope{
			400, invalid, "part_ids", "invalid_value", "part_00000000000000000000000000000000"}},
		{"too few bytes", map[string]any{"part_ids": []string{p1}}, wantEnvelope{400, invalid, "part_ids", "invalid_value", "hold 5 bytes"}},
		{"too many bytes", map[string]any{"part_ids": []string{p1, p2, short}}, wantEnvelope{400, invalid, "part_ids", "invalid_value", "bytes=10"}},
		{"wrong md5", map[string]any{"part_ids": []string{p2, p1}, "md5": "781e5e245d69b566979b86e28d23f2c7"}, wantEnvelope{
			400, invalid, "md5", "invalid_value", "781e5e245d69b566979b86e28d23f2c7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkEnvelope(t, e.doJSON("POST", path, keyA, tt.body), tt.want)
		})
	}

	t.Run("unknown upload", func(t *testing.T) {
		r := e.complete(keyA, "upload_ffffffffffffffffffffffffffffffff", []string{p1}, "")
		checkEnvelope(t, r, wantEnvelope{404, invalid, "upload_id", "not_found", "upload_ffffffffffffffffffffffffffffffff"})
	})
	// None of the failures above changed the upload: it still completes, with the right MD5
	// ("0123456789" has MD5 781e5e245d69b566979b86e28d23f2c7), in upper case too.
	r := e.complete(keyA, u.ID, []string{p1, p2}, "781E5E245D69B566979B86E28D23F2C7")
	if r.Status != http.StatusOK {
		t.Fatalf("complete after failures: %d %s", r.Status, r.Body)
	}
	t.Run("complete twice", func(t *testing.T) {
		checkEnvelope(t, e.complete(keyA, u.ID, []string{p1, p2}, ""), wantEnvelope{400, invalid, "upload_id", "", "already completed"})
	})
	t.Run("cancel a completed upload", func(t *testing.T) {
		r := e.do("POST", "/uploads/"+u.ID+"/cancel", keyA, "", nil)
		checkEnvelope(t, r, wantEnvelope{400, invalid, "upload_id", "", "already completed"})
	})
	t.Run("part to a completed upload", func(t *testing.T) {
		checkEnvelope(t, e.addPart(keyA, u.ID, []byte("x")), wantEnvelope{400, invalid, "upload_id", "", "already completed"})
	})
}

func TestCancelErrors(t *testing.T) {
	e := newEnv(t)
	u := e.createUpload(keyA, 3)
	p := e.mustAddPart(keyA, u.ID, []byte("abc"))

	t.Run("with a body", func(t *testing.T) {
		r := e.doJSON("POST", "/uploads/"+u.ID+"/cancel", keyA, map[string]any{"reason": "x"})
		checkEnvelope(t, r, wantEnvelope{400, invalid, "", "", "no request body"})
	})
	t.Run("unknown upload", func(t *testing.T) {
		r := e.do("POST", "/uploads/upload_nope/cancel", keyA, "", nil)
		checkEnvelope(t, r, wantEnvelope{404, invalid, "upload_id", "not_found", "No upload found with id 'upload_nope'."})
	})
	if r := e.do("POST", "/uploads/"+u.ID+"/cancel", keyA, "", nil); r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	t.Run("cancel twice", func(t *testing.T) {
		r := e.do("POST", "/uploads/"+u.ID+"/cancel", keyA, "", nil)
		checkEnvelope(t, r, wantEnvelope{400, invalid, "upload_id", "", "already cancelled"})
	})
	t.Run("complete a cancelled upload", func(t *testing.T) {
		checkEnvelope(t, e.complete(keyA, u.ID, []string{p}, ""), wantEnvelope{400, invalid, "upload_id", "", "already cancelled"})
	})
	t.Run("part to a cancelled upload", func(t *testing.T) {
		checkEnvelope(t, e.addPart(keyA, u.ID, []byte("x")), wantEnvelope{400, invalid, "upload_id", "", "already cancelled"})
	})
}

func TestFileErrors(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/files/file-AAAAAAAAAAAAAAAAAAAAAA", "/files/file-AAAAAAAAAAAAAAAAAAAAAA/content"} {
		r := e.do("GET", path, keyA, "", nil)
		checkEnvelope(t, r, wantEnvelope{404, invalid, "id", "", "file-AAAAAAAAAAAAAAAAAAAAAA"})
	}
}

func TestUnknownRoutes(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct{ method, path string }{
		{"GET", "/uploads"},
		{"DELETE", "/uploads/upload_x"},
		{"POST", "/files"},
		{"GET", "/models"},
	} {
		r := e.do(tt.method, tt.path, keyA, "", nil)
		checkEnvelope(t, r, wantEnvelope{404, invalid, "", "", "Invalid URL (" + tt.method + " /v1" + tt.path + ")"})
	}
	r := e.send(mustRequest(t, "GET", e.http.URL+"/elsewhere"))
	checkEnvelope(t, r, wantEnvelope{404, invalid, "", "", "Invalid URL (GET /elsewhere)"})
}

func TestHealthz(t *testing.T) {
	e := newEnv(t)
	r := e.send(mustRequest(t, "GET", e.http.URL+"/healthz"))
	if r.Status != http.StatusOK || !bytes.Contains(r.Body, []byte(`"ok"`)) {
		t.Errorf("healthz: %d %s", r.Status, r.Body)
	}
	e.stop() // closes the store: the check must now fail
	e2 := newEnv(t)
	_ = e2.store.Close()
	r = e2.send(mustRequest(t, "GET", e2.http.URL+"/healthz"))
	if r.Status != http.StatusServiceUnavailable {
		t.Errorf("healthz on a closed store: %d %s", r.Status, r.Body)
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
