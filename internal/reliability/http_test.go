package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// rawClient sends requests exactly as built: no redirect is followed, so a test sees what the
// server answered.
var rawClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// reply is a raw answer of the server.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// envelope is the error envelope of a reply, with param and code "" for null.
type envelope struct {
	Message, Type, Param, Code string
	keys                       []string // the keys present under "error"
}

func (r reply) envelope() (envelope, error) {
	var raw struct {
		Error map[string]*string `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &raw); err != nil {
		return envelope{}, fmt.Errorf("not an error envelope: %w", err)
	}
	if raw.Error == nil {
		return envelope{}, fmt.Errorf("no error object")
	}
	str := func(k string) string {
		if p := raw.Error[k]; p != nil {
			return *p
		}
		return ""
	}
	e := envelope{Message: str("message"), Type: str("type"), Param: str("param"), Code: str("code")}
	for k := range raw.Error {
		e.keys = append(e.keys, k)
	}
	return e, nil
}

// rawRequest is one request built by hand.
type rawRequest struct {
	method      string
	url         string // absolute
	key         string // Bearer key; none when empty
	contentType string
	header      http.Header
	body        io.Reader
	length      int64 // Content-Length; -1 sends chunked; 0 with a body means "work it out"
}

// send sends req and reads the whole answer. A transport error fails the test.
func send(t testing.TB, req rawRequest) reply {
	t.Helper()
	r, err := trySend(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.method, shorten(req.url), err)
	}
	return r
}

func trySend(req rawRequest) (reply, error) {
	hr, err := http.NewRequest(req.method, req.url, req.body)
	if err != nil {
		return reply{}, err
	}
	for k, vs := range req.header {
		hr.Header[k] = vs
	}
	if req.key != "" {
		hr.Header.Set("Authorization", "Bearer "+req.key)
	}
	if req.contentType != "" {
		hr.Header.Set("Content-Type", req.contentType)
	}
	if req.length != 0 {
		hr.ContentLength = req.length
	}
	resp, err := rawClient.Do(hr)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("read the answer: %w", err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// shorten keeps a long URL readable in a message.
func shorten(s string) string {
	if len(s) > 120 {
		return fmt.Sprintf("%s…(%d bytes)", s[:120], len(s))
	}
	return s
}

// postJSON sends body (a string, sent as is, or a value to marshal) as JSON with key.
func postJSON(t testing.TB, url, key string, body any) reply {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	}
	return send(t, rawRequest{method: "POST", url: url, key: key, contentType: "application/json", body: bytes.NewReader(b)})
}

// formField is one field of a multipart form.
type formField struct {
	name, filename string
	data           []byte
}

// form builds a multipart form with the given fields, in order.
func form(fields ...formField) (contentType string, body []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		var w io.Writer
		if f.filename == "" {
			w, _ = mw.CreateFormField(f.name)
		} else {
			w, _ = mw.CreateFormFile(f.name, f.filename)
		}
		w.Write(f.data)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// decodeOK decodes a 200 answer into a T, failing the test on anything else.
func decodeOK[T any](t testing.TB, r reply) T {
	t.Helper()
	var v T
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, r.Body)
	}
	return v
}

// idOf is the "id" of a JSON object answer.
func idOf(t testing.TB, r reply) string {
	t.Helper()
	v := decodeOK[struct {
		ID string `json:"id"`
	}](t, r)
	if v.ID == "" {
		t.Fatalf("answer has no id: %s", r.Body)
	}
	return v.ID
}

// createBody is a valid createUpload body for size bytes.
func createBody(size int64) map[string]any {
	return map[string]any{"purpose": "fine-tune", "filename": "train.jsonl", "bytes": size, "mime_type": "text/jsonl"}
}

// addPart adds data as a part of upload, with key, and returns the raw answer.
func addPart(t testing.TB, base, key, uploadID string, data []byte) reply {
	t.Helper()
	ct, body := form(formField{name: "data", filename: "blob", data: data})
	return send(t, rawRequest{method: "POST", url: base + "/uploads/" + uploadID + "/parts", key: key, contentType: ct, body: bytes.NewReader(body)})
}

// repeatString is s repeated to n bytes.
func repeatString(s string, n int) string { return strings.Repeat(s, n/len(s)+1)[:n] }
