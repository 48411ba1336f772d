package uploads_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uploadkit/uploads"
)

// fuzzAnswer is what the fuzzed server answers next.
type fuzzAnswer struct {
	mu          sync.Mutex
	status      int
	contentType string
	body        []byte
}

func (a *fuzzAnswer) set(status int, contentType string, body []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status, a.contentType, a.body = status, contentType, body
}

func (a *fuzzAnswer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	a.mu.Lock()
	status, contentType, body := a.status, a.contentType, a.body
	a.mu.Unlock()
	if contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}
	w.WriteHeader(status)
	w.Write(body)
}

// fuzzCall is one client call whose answer the fuzzer makes up. It returns the decoded object (nil
// when the call failed) and the call's error.
type fuzzCall struct {
	name string
	call func(c *uploads.Client, t *testing.T) (any, error)
}

var fuzzCalls = []fuzzCall{
	{"Create", func(c *uploads.Client, t *testing.T) (any, error) {
		return nilIfNil(c.Create(t.Context(), uploads.CreateParams{Filename: "a.jsonl", Purpose: uploads.PurposeFineTune, Bytes: 3, MIMEType: "text/jsonl"}))
	}},
	{"AddPart", func(c *uploads.Client, t *testing.T) (any, error) {
		return nilIfNil(c.AddPart(t.Context(), "upload_abc", bytes.NewReader([]byte("abc"))))
	}},
	{"Complete", func(c *uploads.Client, t *testing.T) (any, error) {
		return nilIfNil(c.Complete(t.Context(), "upload_abc", uploads.CompleteParams{PartIDs: []string{"part_a", "part_b"}}))
	}},
	{"Cancel", func(c *uploads.Client, t *testing.T) (any, error) {
		return nilIfNil(c.Cancel(t.Context(), "upload_abc"))
	}},
	{"RetrieveFile", func(c *uploads.Client, t *testing.T) (any, error) {
		return nilIfNil(c.RetrieveFile(t.Context(), "file-abc"))
	}},
	{"DownloadFile", func(c *uploads.Client, t *testing.T) (any, error) {
		rc, err := c.DownloadFile(t.Context(), "file-abc")
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			return nil, err
		}
		return b, nil
	}},
}

// nilIfNil turns a typed nil pointer into a nil interface, so that "no object" reads as nil.
func nilIfNil[T any](v *T, err error) (any, error) {
	if v == nil {
		return nil, err
	}
	return v, err
}

// FuzzClientAnswer gives each client call an answer made up by the fuzzer (status, content type,
// body), over loopback, and checks the promises of the client: it never panics; a non-2xx answer
// is an *APIError with that status and no object; a 2xx answer is either an error with no object,
// or exactly the object its body decodes to, and a body that is not a whole JSON object with an id
// is never a success. Run it with:
//
//	go test . -run '^$' -fuzz '^FuzzClientAnswer$' -fuzztime 30s
func FuzzClientAnswer(f *testing.F) {
	upload := `{"id":"upload_abc","object":"upload","bytes":3,"created_at":1719184911,"expires_at":1719188511,"filename":"a.jsonl","purpose":"fine-tune","status":"pending"}`
	part := `{"id":"part_def","object":"upload.part","created_at":1719185911,"upload_id":"upload_abc"}`
	file := `{"id":"file-xyz","object":"file","bytes":3,"created_at":1719186911,"filename":"a.jsonl","purpose":"fine-tune","status":"processed","expires_at":null,"status_details":null}`
	envelope := `{"error":{"message":"No upload found with id 'upload_abc'.","type":"invalid_request_error","param":"upload_id","code":"not_found"}}`
	bodies := []string{
		upload, part, file, envelope,
		upload[:len(upload)/2], // truncated
		upload + "}", upload + upload, "", "null", "{}", "[]", `"upload"`, "0", "true",
		`{"id":""}`, `{"id":5}`, `{"id":"upload_abc","bytes":"3"}`, `{"id":"upload_abc","status":"exploded","file":null}`,
		`{"id":"upload_abc","status":"completed","file":{"id":"file-x","expires_at":null}}`,
		`{"id":"upload_abc","bytes":1e400}`, `{"id":"upload_abc","bytes":-1}`, `{"id":"upload_abc","created_at":1.5}`,
		"<html><body>502 Bad Gateway</body></html>", "\xff\xfe{", `{"error":null}`, `{"error":"boom"}`, `{"error":{"message":5}}`,
	}
	for op := range fuzzCalls {
		for _, b := range bodies {
			f.Add(uint8(op), uint16(0), "application/json", []byte(b))
		}
		f.Add(uint8(op), uint16(200), "application/json", []byte(envelope)) // 400
		f.Add(uint8(op), uint16(204), "text/html", []byte("<h1>oops</h1>")) // 404
		f.Add(uint8(op), uint16(300), "application/json", []byte(upload))   // 500
		f.Add(uint8(op), uint16(4), "application/json", []byte(upload))     // 204
		f.Add(uint8(op), uint16(104), "", []byte(nil))                      // 304
	}

	answer := &fuzzAnswer{}
	srv := httptest.NewServer(answer)
	f.Cleanup(srv.Close)
	client, err := uploads.NewClient(
		uploads.WithAPIKey("sk-fuzz"),
		uploads.WithBaseURL(srv.URL+"/v1"),
		uploads.WithMaxRetries(0),
		uploads.WithTimeout(10*time.Second),
	)
	if err != nil {
		f.Fatalf("new client: %v", err)
	}

	f.Fuzz(func(t *testing.T, op uint8, status uint16, contentType string, body []byte) {
		call := fuzzCalls[int(op)%len(fuzzCalls)]
		code := 200 + int(status)%400
		if strings.ContainsFunc(contentType, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			contentType = "" // net/http would send it, but no transport reads it: not an answer to test
		}
		answer.set(code, contentType, body)
		got, err := call.call(client, t)
		if err != nil && got != nil {
			t.Fatalf("%s: returned both an object and an error: %v", call.name, err)
		}
		if code/100 != 2 {
			var apiErr *uploads.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != code {
				t.Fatalf("%s: a %d answer gave %v, want an *APIError with status %d", call.name, code, err, code)
			}
			return
		}
		if err != nil {
			return // refusing a 2xx answer it cannot use is the client's right
		}
		if call.name == "DownloadFile" {
			if code == http.StatusNoContent {
				body = nil // a 204 has no body, whatever the handler wrote
			}
			if !bytes.Equal(got.([]byte), body) {
				t.Fatalf("DownloadFile returned %q, the server sent %q", got, body)
			}
			return
		}
		checkDecodedSuccess(t, call.name, got, body)
	})
}

// checkDecodedSuccess fails unless got is exactly what body decodes to, and body is a whole JSON
// object with an id.
func checkDecodedSuccess(t *testing.T, name string, got any, body []byte) {
	t.Helper()
	var head struct {
		ID *string `json:"id"`
	}
	if !json.Valid(body) || json.Unmarshal(body, &head) != nil || bytes.TrimSpace(body)[0] != '{' {
		t.Fatalf("%s: a 2xx answer that is not a JSON object (%q) was returned as a success: %+v", name, body, got)
	}
	if head.ID == nil || *head.ID == "" {
		t.Fatalf("%s: a 2xx answer without an id (%q) was returned as a success: %+v", name, body, got)
	}
	want := reflect.New(reflect.TypeOf(got).Elem())
	if err := json.Unmarshal(body, want.Interface()); err != nil {
		t.Fatalf("%s: returned a success for a body that does not decode: %v", name, err)
	}
	if !reflect.DeepEqual(want.Interface(), got) {
		t.Fatalf("%s: returned %+v, the body decodes to %+v", name, got, want.Interface())
	}
}
