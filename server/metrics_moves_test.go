package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMetricsStoreErrors: a store that fails (a real SQLite store, closed under the server) makes
// the server answer 500 and count one store error per request under its operation; answers that
// are not the store's failure (a 404, a 400) count none.
func TestMetricsStoreErrors(t *testing.T) {
	e := newEnv(t)
	u := e.createUpload(keyA, 5)
	if r := e.do("POST", "/uploads/upload_missing/cancel", keyA, "", nil); r.Status != http.StatusNotFound {
		t.Fatalf("cancel of a missing upload: %d %s", r.Status, r.Body)
	}
	if r := e.doJSON("POST", "/uploads", keyA, map[string]any{"purpose": "fine-tune"}); r.Status != http.StatusBadRequest {
		t.Fatalf("create without its fields: %d %s", r.Status, r.Body)
	}
	if got := value(e.scrape(), "uploads_store_errors_total"); got != 0 {
		t.Fatalf("before any failure, uploads_store_errors_total = %v, want 0", got)
	}

	if err := e.store.Close(); err != nil {
		t.Fatalf("close the store: %v", err)
	}
	for i := 0; i < 2; i++ {
		if r := e.doJSON("POST", "/uploads", keyA, map[string]any{
			"purpose": "fine-tune", "filename": "a.jsonl", "bytes": 1, "mime_type": "text/jsonl",
		}); r.Status != http.StatusInternalServerError || !bytes.Contains(r.Body, []byte(`"server_error"`)) {
			t.Fatalf("create on a closed store: %d %s, want a 500 server_error", r.Status, r.Body)
		}
	}
	if r := e.do("POST", "/uploads/"+u.ID+"/cancel", keyA, "", nil); r.Status != http.StatusInternalServerError {
		t.Fatalf("cancel on a closed store: %d %s, want 500", r.Status, r.Body)
	}
	m := e.scrape()
	for _, c := range []struct {
		op   string
		want float64
	}{{"createUpload", 2}, {"cancelUpload", 1}, {"completeUpload", 0}} {
		if got := value(m, "uploads_store_errors_total", "operation", c.op); got != c.want {
			t.Errorf("uploads_store_errors_total{operation=%q} = %v, want %v", c.op, got, c.want)
		}
	}
	if got := value(m, "uploads_http_requests_total", "operation", "createUpload", "code", "500"); got != 2 {
		t.Errorf("uploads_http_requests_total{createUpload,500} = %v, want 2", got)
	}
	if got := value(m, "uploads_store_stats_up"); got != 0 {
		t.Errorf("uploads_store_stats_up = %v on a closed store, want 0", got)
	}
}

// TestMetricsResponseBodyBytes: the response bytes counted under each operation are exactly those
// its clients received: JSON answers, an error envelope, a file's content, and /metrics itself.
func TestMetricsResponseBodyBytes(t *testing.T) {
	e := newEnv(t)
	want := map[string]int{}
	var u struct{ ID string }
	for _, size := range []int{11, 3} {
		r := e.doJSON("POST", "/uploads", keyA, map[string]any{
			"purpose": "fine-tune", "filename": "b.jsonl", "bytes": size, "mime_type": "text/jsonl",
		})
		if r.Status != http.StatusOK {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		want["createUpload"] += len(r.Body)
		if u.ID == "" {
			if err := json.Unmarshal(r.Body, &u); err != nil {
				t.Fatal(err)
			}
		}
	}
	part := e.addPart(keyA, u.ID, []byte("hello world"))
	if part.Status != http.StatusOK {
		t.Fatalf("add part: %d %s", part.Status, part.Body)
	}
	want["addUploadPart"] += len(part.Body)
	var p struct{ ID string }
	if err := json.Unmarshal(part.Body, &p); err != nil {
		t.Fatal(err)
	}
	done := e.complete(keyA, u.ID, []string{p.ID}, "")
	if done.Status != http.StatusOK {
		t.Fatalf("complete: %d %s", done.Status, done.Body)
	}
	want["completeUpload"] += len(done.Body)
	var completed struct{ File struct{ ID string } }
	if err := json.Unmarshal(done.Body, &completed); err != nil {
		t.Fatal(err)
	}
	content := e.do("GET", "/files/"+completed.File.ID+"/content", keyA, "", nil)
	if content.Status != http.StatusOK || string(content.Body) != "hello world" {
		t.Fatalf("download: %d %q", content.Status, content.Body)
	}
	want["downloadFile"] += len(content.Body)
	missing := e.do("POST", "/uploads/upload_missing/cancel", keyA, "", nil)
	if missing.Status != http.StatusNotFound {
		t.Fatalf("cancel of a missing upload: %d", missing.Status)
	}
	want["cancelUpload"] += len(missing.Body)

	// The first scrape's own bytes are counted once it is answered, under "metrics".
	base := strings.TrimSuffix(e.URL, "/v1")
	scrape := func() []byte {
		req, _ := http.NewRequest("GET", base+"/metrics", nil)
		req.Header.Set("Accept-Encoding", "identity") // the bytes written are the bytes read
		req.Header.Set("Accept", "text/plain")
		return e.send(req).Body
	}
	want["metrics"] = len(scrape())
	m := e.scrape()
	for op, n := range want {
		if got := value(m, "uploads_http_response_body_bytes_total", "operation", op); got != float64(n) {
			t.Errorf("uploads_http_response_body_bytes_total{operation=%q} = %v, want the %d bytes received", op, got, n)
		}
	}
}

// TestMetricsRequestsInFlight: a part whose body the server is reading counts as in flight, beside
// the scrape itself, until it is answered.
func TestMetricsRequestsInFlight(t *testing.T) {
	e := newEnv(t)
	if got := value(e.scrape(), "uploads_http_requests_in_flight"); got != 1 {
		t.Fatalf("with only the scrape itself, uploads_http_requests_in_flight = %v, want 1", got)
	}
	u := e.createUpload(keyA, 5)

	// The part's body is sent only once the server asks for it (100 Continue), which it does when
	// its handler first reads the body: when the first write returns, the request is in flight.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, err := http.NewRequestWithContext(context.Background(), "POST", e.URL+"/uploads/"+u.ID+"/parts", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+keyA)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Expect", "100-continue")
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Hour}}
	defer client.CloseIdleConnections()
	answered := make(chan reply, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			answered <- reply{Status: -1, Body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- reply{Status: resp.StatusCode, Body: b}
	}()
	fw, err := mw.CreateFormFile("data", "part")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write([]byte("hel")); err != nil {
		t.Fatalf("write the part's first bytes: %v", err)
	}
	if got := value(e.scrape(), "uploads_http_requests_in_flight"); got != 2 {
		t.Errorf("while a part is being read, uploads_http_requests_in_flight = %v, want 2 (the part and the scrape)", got)
	}
	fw.Write([]byte("lo"))
	mw.Close()
	pw.Close()
	if r := <-answered; r.Status != http.StatusOK {
		t.Fatalf("the part: %d %s", r.Status, r.Body)
	}
	// The answer reaches the client only after the handler returned (it is not flushed early), and
	// the gauge is lowered before that.
	if got := value(e.scrape(), "uploads_http_requests_in_flight"); got != 1 {
		t.Errorf("after the part was answered, uploads_http_requests_in_flight = %v, want 1", got)
	}
}
