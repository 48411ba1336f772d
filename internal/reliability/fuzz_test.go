package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fuzz targets send random requests, one operation each, to one server on the real store, and
// check after every input that the server answered (no hang, no 5xx, no panic), that a refusal is
// a well-formed error envelope, that an acceptance conforms to the spec (the conformance wrapper
// reports otherwise), and that the store's invariants hold. Bodies and paths may name the fixtures
// with placeholders ({pending}, {p1}, {done}, …), so that mutations reach deep into each
// operation. Run one with, for example:
//
//	go test ./internal/reliability -run '^$' -fuzz '^FuzzCompleteUpload$' -fuzztime 30s

// fuzzRequestTimeout is how long one input may take before the target calls it a hang.
const fuzzRequestTimeout = 10 * time.Second

// fuzzEnv is a target's server, fixtures and inspector, shared by all its inputs.
type fuzzEnv struct {
	ts *testServer
	fx *fixtures
	in *inspector

	mu         sync.Mutex
	violations []error // found by the conformance wrapper during the current input
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	f.Helper()
	e := &fuzzEnv{}
	// A violation is reported to the input that caused it: f itself may not fail inside the target.
	ts := startServer(f, withMaxPart(1<<20), withReport(func(err error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.violations = append(e.violations, err)
	}))
	e.ts, e.fx, e.in = ts, makeFixtures(f, ts), openInspector(f, ts.dir)
	// The wrapper checks an exchange after its answer is sent: wait for the last check.
	ts.waitIdle(f)
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.violations) > 0 {
		f.Fatalf("spec violations while making the fixtures: %v", e.violations)
	}
	f.Cleanup(func() { e.in.checkInvariants(f, true) })
	return e
}

// refresh gives the fixtures a pending upload with its two parts again when an input completed or
// cancelled it, or added many parts to it.
func (e *fuzzEnv) refresh(t *testing.T) {
	t.Helper()
	status := e.in.strings(t, `SELECT status FROM uploads WHERE id = ?`, e.fx.pending)
	parts := e.in.strings(t, `SELECT id FROM parts WHERE upload_id = ?`, e.fx.pending)
	if len(status) == 1 && status[0] == "pending" && len(parts) <= 20 {
		return
	}
	if len(status) == 1 && status[0] == "pending" {
		send(t, rawRequest{method: "POST", url: e.ts.URL + "/uploads/" + e.fx.pending + "/cancel", key: keyA})
	}
	u := e.ts.URL
	e.fx.pending = idOf(t, postJSON(t, u+"/uploads", keyA, createBody(10)))
	e.fx.p1 = idOf(t, addPart(t, u, keyA, e.fx.pending, []byte("hello")))
	e.fx.p2 = idOf(t, addPart(t, u, keyA, e.fx.pending, []byte("world")))
}

// fuzzSend sends one fuzzed request and checks the answer and the store. rawPath is under /v1,
// with placeholders; headers are "Name: value" lines, added to the request (an Authorization line
// replaces the key of A).
func (e *fuzzEnv) fuzzSend(t *testing.T, method, rawPath, contentType, headers string, body []byte) {
	e.refresh(t)
	hr, err := http.NewRequest(method, e.ts.URL+e.fx.expand(rawPath), bytes.NewReader([]byte(e.fx.expand(string(body)))))
	if err != nil {
		return // not a request a client can send
	}
	hr.Header.Set("Authorization", "Bearer "+keyA)
	if contentType != "" && validHeaderValue(contentType) {
		hr.Header.Set("Content-Type", contentType)
	}
	for line := range strings.SplitSeq(headers, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || !validHeaderName(name) || !validHeaderValue(value) {
			continue
		}
		switch http.CanonicalHeaderKey(name) {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Expect", "Te", "Trailer", "Upgrade":
			continue // the transport's own
		case "Authorization":
			hr.Header.Set(name, strings.TrimSpace(value)) // replaces key A
			continue
		}
		hr.Header.Add(name, strings.TrimSpace(e.fx.expand(value)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), fuzzRequestTimeout)
	defer cancel()
	resp, err := rawClient.Do(hr.WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			t.Fatalf("%s %s: no answer within %v: %v", method, shorten(hr.URL.String()), fuzzRequestTimeout, err)
		}
		t.Fatalf("%s %s: %v", method, shorten(hr.URL.String()), err)
	}
	var answer bytes.Buffer
	_, err = answer.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, shorten(hr.URL.String()), err)
	}
	e.ts.waitIdle(t)
	e.mu.Lock()
	violations := e.violations
	e.violations = nil
	e.mu.Unlock()
	for _, v := range violations {
		t.Errorf("conformance: %v", v)
	}
	if method != http.MethodHead {
		checkFuzzAnswer(t, reply{Status: resp.StatusCode, Header: resp.Header, Body: answer.Bytes()})
	}
	e.in.checkInvariants(t, true)
}

// checkFuzzAnswer fails on a 5xx, and on a refusal of the API's that is not a complete envelope.
// net/http itself refuses some requests before the API sees them (431, and a redirect should
// one ever appear); those answers are plain text.
func checkFuzzAnswer(t *testing.T, r reply) {
	t.Helper()
	switch {
	case r.Status >= 500:
		t.Fatalf("server error %d: %s", r.Status, shorten(string(r.Body)))
	case r.Status/100 == 2:
		if !json.Valid(r.Body) && r.Header.Get("Content-Type") == "application/json" {
			t.Fatalf("2xx answer is not JSON: %s", shorten(string(r.Body)))
		}
	case r.Status/100 == 3 || r.Status == http.StatusRequestHeaderFieldsTooLarge:
	default:
		e, err := r.envelope()
		if err != nil {
			t.Fatalf("%d answer: %v: %s", r.Status, err, shorten(string(r.Body)))
		}
		slices.Sort(e.keys)
		if !slices.Equal(e.keys, []string{"code", "message", "param", "type"}) || e.Message == "" || e.Type == "" {
			t.Fatalf("%d answer is not a complete envelope: %s", r.Status, shorten(string(r.Body)))
		}
	}
}

// validHeaderName reports whether s is a header name net/http sends (a token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s is a header value net/http sends.
func validHeaderValue(s string) bool {
	for _, c := range []byte(s) {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// FuzzCreateUpload fuzzes createUpload: any body, content type and headers.
func FuzzCreateUpload(f *testing.F) {
	for _, h := range hostileRequests {
		if h.path == "/uploads" && h.stream == nil && len(h.body) < 4096 {
			f.Add("application/json", "", []byte(h.body))
		}
	}
	f.Add("application/json", "", []byte(`{"purpose":"batch","filename":"b.jsonl","bytes":8589934592,"mime_type":"application/jsonl","expires_after":{"anchor":"created_at","seconds":3600}}`))
	f.Add("application/json; charset=utf-8", "OpenAI-Organization: org-x\nOpenAI-Project: proj-y", []byte(createWith(`,"bytes":1`)))
	f.Add("text/plain", "X-Padding: aaaaaaaaaaaaaaaaaaaa", []byte(createWith(`,"bytes":1`)))
	f.Add("application/json", "Authorization: Bearer {ofB}", []byte(createWith(`,"bytes":1`)))
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, contentType, headers string, body []byte) {
		e.fuzzSend(t, "POST", "/uploads", contentType, headers, body)
	})
}

// FuzzAddUploadPart fuzzes addUploadPart: any upload id (placeholders name the fixtures), content
// type, headers and multipart body. The server's part limit is 1 MiB here.
func FuzzAddUploadPart(f *testing.F) {
	ct, body := form(formField{name: "data", filename: "a.bin", data: []byte("abc")})
	two := []string{"{pending}", "{other}", "{done}", "{cancelled}", "{expired}", "{ofB}", "upload_x", "{p1}", "..", "%2F", "%00"}
	for _, id := range two {
		f.Add(id, ct, "", body)
	}
	twoCT, twoData := form(formField{name: "data", data: []byte("a")}, formField{name: "data", data: []byte("b")})
	f.Add("{pending}", twoCT, "", twoData)
	f.Add("{pending}", "multipart/form-data; boundary=x", "", []byte("--x\r\nContent-Disposition: form-data; name=\"data\"; filename=\"../../x\"\r\nContent-Type: application/octet-stream\r\n\r\nhello\r\n--x--\r\n"))
	f.Add("{pending}", "multipart/form-data; boundary=x", "", []byte("--x\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\nhel"))
	f.Add("{pending}", "multipart/mixed; boundary=x", "", []byte("--x\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nn\r\n--x\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\nd\r\n--x--\r\n"))
	f.Add("{pending}", "application/json", "", []byte(`{"data":"aGVsbG8="}`))
	f.Add("{pending}", ct, "Authorization: Basic x", body)
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, uploadID, contentType, headers string, body []byte) {
		e.fuzzSend(t, "POST", "/uploads/"+uploadID+"/parts", contentType, headers, body)
	})
}

// FuzzCompleteUpload fuzzes completeUpload: any upload id and body; {p1}, {p2}, {q1}, {b1}, {e1}
// in the body are part ids of the fixtures.
func FuzzCompleteUpload(f *testing.F) {
	for _, h := range hostileRequests {
		if strings.HasSuffix(h.path, "/complete") {
			id := strings.TrimSuffix(strings.TrimPrefix(h.path, "/uploads/"), "/complete")
			f.Add(id, "application/json", "", []byte(h.body))
		}
	}
	f.Add("{pending}", "application/json", "", []byte(`{"part_ids":["{p1}","{p2}"],"md5":"fc5e038d38a57032085441e7fe7010b0"}`))
	f.Add("{pending}", "application/json", "", []byte(`{"part_ids":["{p2}","{p1}"]}`))
	f.Add("{pending}", "application/json", "", []byte(`{"part_ids":["{p1}","{p2}"],"md5":"FC5E038D38A57032085441E7FE7010B0"}`))
	f.Add("{other}", "application/json", "", []byte(`{"part_ids":["{q1}"]}`))
	f.Add("{ofB}", "application/json", "Authorization: Bearer "+keyB, []byte(`{"part_ids":["{b1}"]}`))
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, uploadID, contentType, headers string, body []byte) {
		e.fuzzSend(t, "POST", "/uploads/"+uploadID+"/complete", contentType, headers, body)
	})
}

// FuzzCancelUpload fuzzes cancelUpload: any upload id, headers and (refused) body.
func FuzzCancelUpload(f *testing.F) {
	for _, id := range []string{"{pending}", "{other}", "{done}", "{cancelled}", "{expired}", "{ofB}", "upload_x", "../uploads/{pending}", "{pending}%2F..", ""} {
		f.Add(id, "", "", []byte(nil))
	}
	f.Add("{pending}", "application/json", "", []byte(`{}`))
	f.Add("{other}", "", "Authorization: Bearer "+keyB, []byte(nil))
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, uploadID, contentType, headers string, body []byte) {
		e.fuzzSend(t, "POST", "/uploads/"+uploadID+"/cancel", contentType, headers, body)
	})
}

// FuzzFiles fuzzes retrieveFile and downloadFile: any method, path under /v1 and headers. The
// placeholder {file} is the fixtures' completed file.
func FuzzFiles(f *testing.F) {
	for _, p := range []string{"/files/{file}", "/files/{file}/content", "/files/file-x", "/files/../uploads.db", "/files/%2E%2E%2Fuploads.db/content", "/files/{file}%00", "/files/", "/files/{pending}/content"} {
		f.Add("GET", p, "")
	}
	f.Add("GET", "/files/{file}", "Authorization: Bearer "+keyB)
	f.Add("HEAD", "/files/{file}/content", "Range: bytes=1-2")
	f.Add("POST", "/files/{file}", "")
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, method, path, headers string) {
		if !validHeaderName(method) {
			return
		}
		e.fuzzSend(t, method, path, "", headers, nil)
	})
}
