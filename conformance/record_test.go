package conformance_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uploadkit/uploads/conformance"
)

const secretKey = "sk-proj-recorder0123456789abcdefSECRET"

func newRecorder(t *testing.T, dir string, next http.RoundTripper) *conformance.Recorder {
	t.Helper()
	rec, err := conformance.NewRecorder(dir, next, conformance.OnRecordError(func(err error) { t.Errorf("record: %v", err) }))
	if err != nil {
		t.Fatalf("NewRecorder: %v", err)
	}
	return rec
}

// fakeAPI answers every request with the upload or part it names, draining the body first.
func fakeAPI(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req_fake")
		w.Header().Set("Openai-Organization", "user-secretorg")
		w.Header().Add("Set-Cookie", "__cf_bm=cookiesecret; path=/")
		switch {
		case strings.HasSuffix(r.URL.Path, "/parts"):
			io.WriteString(w, partJSON)
		case strings.HasSuffix(r.URL.Path, "/content"):
			w.Header().Set("Content-Type", "application/octet-stream")
			io.WriteString(w, "the file's content")
		case strings.HasSuffix(r.URL.Path, "/missing/cancel"):
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"message":"No upload found with id 'missing'.","type":"invalid_request_error","param":"upload_id","code":"not_found"}}`)
		default:
			io.WriteString(w, uploadJSON)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func send(t *testing.T, client *http.Client, req *http.Request) {
	t.Helper()
	req.Header.Set("Authorization", "Bearer "+secretKey)
	req.Header.Set("OpenAI-Organization", "org-secretorganization")
	req.Header.Set("OpenAI-Project", "proj_secretproject")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func recordings(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// checkRecordings requires every file of dir to pass the spec check, and no byte of any to hold a
// secret.
func checkRecordings(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	v := newValidator(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if !strings.HasSuffix(e.Name(), ".json") {
			t.Errorf("%s: a file that is not a recording was left behind", path)
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("%s holds the secret %q:\n%s", path, s, raw)
			}
		}
		failures, err := v.CheckExchangeFile(t.Context(), path)
		if err != nil {
			t.Errorf("%v", err)
		}
		for _, f := range failures {
			t.Errorf("%s: %s", path, f)
		}
	}
}

func TestRecorderRoundTrip(t *testing.T) {
	api := fakeAPI(t)
	dir := t.TempDir()
	client := &http.Client{Transport: newRecorder(t, dir, nil)}

	create, _ := http.NewRequestWithContext(t.Context(), "POST", api.URL+"/v1/uploads?api_key=querysecret123&purpose=x",
		strings.NewReader(`{"filename":"a.jsonl","purpose":"fine-tune","bytes":8,"mime_type":"text/jsonl"}`))
	create.Header.Set("Content-Type", "application/json")
	send(t, client, create)

	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("data", "part")
	part := bytes.Repeat([]byte("PARTBYTES"), 1000)
	fw.Write(part)
	mw.Close()
	wire := form.Bytes()
	addPart, _ := http.NewRequestWithContext(t.Context(), "POST", api.URL+"/v1/uploads/upload_abc/parts", bytes.NewReader(wire))
	addPart.Header.Set("Content-Type", mw.FormDataContentType())
	send(t, client, addPart)

	download, _ := http.NewRequestWithContext(t.Context(), "GET", api.URL+"/v1/files/file-abc/content", nil)
	send(t, client, download)

	missing, _ := http.NewRequestWithContext(t.Context(), "POST", api.URL+"/v1/uploads/missing/cancel", nil)
	send(t, client, missing)

	outside, _ := http.NewRequestWithContext(t.Context(), "GET", api.URL+"/healthz", nil)
	send(t, client, outside)

	files := recordings(t, dir)
	if len(files) != 4 {
		t.Fatalf("%d recordings, want 4 (the request outside the spec is not recorded): %v", len(files), files)
	}
	checkRecordings(t, dir, secretKey, "secretorganization", "secretproject", "querysecret123", "cookiesecret", "secretorg", "PARTBYTES", "the file's content")

	byOp := map[string]*conformance.Exchange{}
	for _, f := range files {
		ex, err := conformance.ReadExchange(f)
		if err != nil {
			t.Fatal(err)
		}
		byOp[ex.Operation] = ex
		if !strings.Contains(filepath.Base(f), ex.Operation+"-"+fmt.Sprint(ex.Response.Status)) {
			t.Errorf("%s: the name does not say %s and %d", f, ex.Operation, ex.Response.Status)
		}
	}
	sum := sha256.Sum256(part)
	if f := byOp["addUploadPart"].Request.Form; len(f) != 1 || f[0].Name != "data" || f[0].Digest == nil ||
		f[0].Digest.Bytes != int64(len(part)) || f[0].Digest.SHA256 != hex.EncodeToString(sum[:]) || f[0].Digest.Partial {
		t.Errorf("part recorded as %+v, want the data field with %d bytes and SHA-256 %x", f, len(part), sum)
	}
	content := sha256.Sum256([]byte("the file's content"))
	if d := byOp["downloadFile"].Response.BodyDigest; d == nil || d.SHA256 != hex.EncodeToString(content[:]) {
		t.Errorf("file content recorded as %+v, want its digest", d)
	}
	c := byOp["createUpload"]
	if got := c.Request.Headers["Authorization"]; len(got) != 1 || got[0] != "Bearer REDACTED" {
		t.Errorf("Authorization recorded as %q, want Bearer REDACTED", got)
	}
	if !strings.Contains(c.Request.Path, "api_key=REDACTED") || !strings.Contains(c.Request.Path, "purpose=x") {
		t.Errorf("path recorded as %q, want the key redacted and the rest kept", c.Request.Path)
	}
	if string(c.Request.Body) == "" || c.Response.Body == nil || c.Response.Headers["X-Request-Id"][0] != "req_fake" {
		t.Errorf("createUpload recorded without its bodies or request id: %+v", c)
	}
	if byOp["cancelUpload"].Response.Status != http.StatusNotFound {
		t.Errorf("the error was recorded as %d", byOp["cancelUpload"].Response.Status)
	}
}

// TestRecorderConcurrent records 32 requests at once: each gets its own complete file.
func TestRecorderConcurrent(t *testing.T) {
	api := fakeAPI(t)
	dir := t.TempDir()
	client := &http.Client{Transport: newRecorder(t, dir, nil)}
	const n = 32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), "POST", fmt.Sprintf("%s/v1/uploads/upload_%d/cancel", api.URL, i), nil)
			send(t, client, req)
		})
	}
	wg.Wait()
	files := recordings(t, dir)
	if len(files) != n {
		t.Fatalf("%d recordings, want %d", len(files), n)
	}
	paths := map[string]bool{}
	for _, f := range files {
		ex, err := conformance.ReadExchange(f)
		if err != nil {
			t.Fatal(err)
		}
		paths[ex.Request.Path] = true
	}
	if len(paths) != n {
		t.Errorf("%d distinct requests recorded, want %d", len(paths), n)
	}
	checkRecordings(t, dir, secretKey)
}

// TestRecorderNoResponse records a request that got no answer, without the response.
func TestRecorderNoResponse(t *testing.T) {
	dir := t.TempDir()
	failing := roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("connection refused by " + secretKey)
	})
	client := &http.Client{Transport: newRecorder(t, dir, failing)}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", "http://api.test/v1/uploads/upload_abc/cancel", nil)
	req.Header.Set("Authorization", "Bearer "+secretKey)
	if _, err := client.Do(req); err == nil {
		t.Fatal("the failure of the transport was hidden")
	}
	files := recordings(t, dir)
	if len(files) != 1 || !strings.HasSuffix(files[0], "-cancelUpload-error.json") {
		t.Fatalf("recordings %v, want one cancelUpload-error", files)
	}
	ex, err := conformance.ReadExchange(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if ex.Response != nil || !strings.Contains(ex.Description, "connection refused") {
		t.Errorf("recorded %+v, want no response and the error in the description", ex)
	}
	checkRecordings(t, dir, secretKey)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRecorderHandler records what clients send a server, and what it answers, through the same
// code as the transport.
func TestRecorderHandler(t *testing.T) {
	dir := t.TempDir()
	rec := newRecorder(t, dir, nil)
	api := httptest.NewServer(rec.Handler(fakeAPI(t).Config.Handler))
	defer api.Close()

	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	fw, _ := mw.CreateFormFile("data", "part")
	fw.Write(bytes.Repeat([]byte("PARTBYTES"), 100))
	mw.Close()
	addPart, _ := http.NewRequestWithContext(t.Context(), "POST", api.URL+"/v1/uploads/upload_abc/parts", &form)
	addPart.Header.Set("Content-Type", mw.FormDataContentType())
	send(t, api.Client(), addPart)
	missing, _ := http.NewRequestWithContext(t.Context(), "POST", api.URL+"/v1/uploads/missing/cancel", nil)
	send(t, api.Client(), missing)
	health, _ := http.NewRequestWithContext(t.Context(), "GET", api.URL+"/healthz", nil)
	send(t, api.Client(), health)

	files := recordings(t, dir)
	if len(files) != 2 {
		t.Fatalf("%d recordings, want 2: %v", len(files), files)
	}
	checkRecordings(t, dir, secretKey, "secretorganization", "secretproject", "cookiesecret", "PARTBYTES")
	for _, f := range files {
		ex, _ := conformance.ReadExchange(f)
		if f := ex.Request.Form; ex.Operation == "addUploadPart" && (len(f) != 1 || f[0].Digest == nil || f[0].Digest.Bytes != 900 || f[0].Digest.Partial) {
			t.Errorf("the part was recorded as %+v, want its digest", f)
		}
		if ex.Request.Headers["User-Agent"] == nil {
			t.Errorf("%s: the client's User-Agent was not recorded", f)
		}
	}
}

// TestRecorderRedaction checks which header and query values are kept.
func TestRecorderRedaction(t *testing.T) {
	api := fakeAPI(t)
	dir := t.TempDir()
	client := &http.Client{Transport: newRecorder(t, dir, nil)}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", api.URL+"/v1/uploads/upload_abc/cancel?token=tok123456&after=file-abc&x=sk-abcdefghijkl", nil)
	headers := map[string]struct{ value, want string }{
		"Authorization":   {"Bearer " + secretKey, "Bearer REDACTED"},
		"Cookie":          {"session=abcdefgh", "REDACTED"},
		"X-Api-Key":       {"abcdefgh123", "REDACTED"},
		"X-Custom-Token":  {"abcdefgh123", "REDACTED"},
		"X-Forwarded-For": {"sk-live0123456789 10.0.0.1", "REDACTED 10.0.0.1"},
		"X-Trace":         {"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "REDACTED"},
		"User-Agent":      {"uploads-test/1.0", "uploads-test/1.0"},
		"Idempotency-Key": {"k", "REDACTED"},
		"X-Stainless-Os":  {"Linux", "Linux"},
	}
	for name, h := range headers {
		req.Header.Set(name, h.value)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	files := recordings(t, dir)
	if len(files) != 1 {
		t.Fatalf("%d recordings, want 1", len(files))
	}
	ex, err := conformance.ReadExchange(files[0])
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range headers {
		if got := ex.Request.Headers[name]; len(got) != 1 || got[0] != h.want {
			t.Errorf("%s recorded as %q, want %q", name, got, h.want)
		}
	}
	if want := "after=file-abc&token=REDACTED&x=REDACTED"; !strings.HasSuffix(ex.Request.Path, "?"+want) {
		t.Errorf("path recorded as %q, want the query %q", ex.Request.Path, want)
	}
	for _, name := range []string{"Set-Cookie", "Openai-Organization"} {
		if got := ex.Response.Headers[name]; len(got) != 1 || got[0] != "REDACTED" {
			t.Errorf("response header %s recorded as %q, want REDACTED", name, got)
		}
	}
	checkRecordings(t, dir, secretKey, "tok123456", "abcdefgh", "sk-live0123456789", "eyJhbGciOiJIUzI1NiJ9")
}

// TestRecorderHandlerHijack records an exchange whose handler reset the connection without an
// HTTP answer as a request with no response.
func TestRecorderHandlerHijack(t *testing.T) {
	dir := t.TempDir()
	rec := newRecorder(t, dir, nil)
	recorded := rec.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack through the recorder: %v", err)
			return
		}
		conn.Close()
	}))
	handled := make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(handled)
		recorded.ServeHTTP(w, r)
	}))
	defer api.Close()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", api.URL+"/v1/uploads/upload_abc/cancel", nil)
	req.Header.Set("Authorization", "Bearer "+secretKey)
	if resp, err := api.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("a reset connection gave an answer")
	}
	<-handled
	files := recordings(t, dir)
	if len(files) != 1 || !strings.HasSuffix(files[0], "-cancelUpload-error.json") {
		t.Fatalf("recordings %v, want one cancelUpload-error", files)
	}
	ex, err := conformance.ReadExchange(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if ex.Response != nil || !strings.Contains(ex.Description, "took over the connection") {
		t.Errorf("recorded %+v, want no response and why", ex)
	}
}

// TestRecorderHandlerUnreadBody records the JSON body of a request the handler refused without
// reading it, but does not wait for the body of a client that waits for 100 Continue.
func TestRecorderHandlerUnreadBody(t *testing.T) {
	dir := t.TempDir()
	rec := newRecorder(t, dir, nil)
	refuse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
	})
	api := httptest.NewServer(rec.Handler(refuse))
	defer api.Close()
	create := `{"filename":"a.jsonl","purpose":"fine-tune","bytes":8,"mime_type":"text/jsonl"}`

	for _, expect := range []bool{false, true} {
		// The safety valve of a client that waits for 100 Continue: far longer than any run.
		client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Hour}}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		req, _ := http.NewRequestWithContext(ctx, "POST", api.URL+"/v1/uploads", strings.NewReader(create))
		req.Header.Set("Authorization", "Bearer "+secretKey)
		req.Header.Set("Content-Type", "application/json")
		if expect {
			req.Header.Set("Expect", "100-continue")
		}
		resp, err := client.Do(req)
		if err != nil {
			cancel()
			t.Fatalf("Expect 100-continue %v: %v", expect, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		cancel()
		client.CloseIdleConnections()
	}
	files := recordings(t, dir)
	if len(files) != 2 {
		t.Fatalf("%d recordings, want 2", len(files))
	}
	var withBody, withDigest int
	for _, f := range files {
		ex, err := conformance.ReadExchange(f)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ex.Request.Body != nil:
			withBody++
		case ex.Request.BodyDigest != nil && ex.Request.BodyDigest.Partial:
			withDigest++
		}
	}
	if withBody != 1 || withDigest != 1 {
		t.Errorf("%d recordings with the body, %d with a partial digest; want the body of the plain request, and a partial digest of the one that waited", withBody, withDigest)
	}
}
