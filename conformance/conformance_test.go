package conformance_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/uploadkit/uploads/conformance"
)

const (
	uploadJSON = `{"id":"upload_abc","object":"upload","bytes":8,"created_at":1,"expires_at":3601,` +
		`"filename":"a.jsonl","purpose":"fine-tune","status":"cancelled"}`
	partJSON = `{"id":"part_abc","object":"upload.part","created_at":1,"upload_id":"upload_abc"}`
)

func newValidator(t *testing.T, opts ...conformance.Option) *conformance.Validator {
	t.Helper()
	v, err := conformance.New(t.Context(), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func request(t *testing.T, method, path, contentType, body string) *http.Request {
	t.Helper()
	var r io.Reader = http.NoBody
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequestWithContext(t.Context(), method, "http://api.test"+path, r)
	req.Header.Set("Authorization", "Bearer sk-test")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

func jsonHeader() http.Header { return http.Header{"Content-Type": {"application/json"}} }

func TestValidateRequest(t *testing.T) {
	v := newValidator(t)
	for _, tc := range []struct {
		name, method, path, contentType, body string
		want                                  string // substring of the error; "" for valid
	}{
		{"cancel without body", "POST", "/v1/uploads/upload_abc/cancel", "", "", ""},
		{"cancel with a body", "POST", "/v1/uploads/upload_abc/cancel", "application/json", `{"x":1}`, "request body not allowed"},
		{"part as multipart", "POST", "/v1/uploads/upload_abc/parts", "multipart/form-data; boundary=b", "--b--\r\n", ""},
		{"part as JSON", "POST", "/v1/uploads/upload_abc/parts", "application/json", `{"data":"x"}`, `unexpected value "application/json"`},
		{"part without Content-Type", "POST", "/v1/uploads/upload_abc/parts", "", "x", `unexpected value ""`},
		{"part without boundary", "POST", "/v1/uploads/upload_abc/parts", "multipart/form-data", "x", "has no boundary"},
		{"create missing purpose", "POST", "/v1/uploads", "application/json", `{"filename":"a","bytes":1,"mime_type":"text/plain"}`, `property "purpose" is missing`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := v.ValidateRequest(request(t, tc.method, tc.path, tc.contentType, tc.body))
			checkErr(t, err, tc.want)
		})
	}
}

func TestValidateRequestKeepsBody(t *testing.T) {
	v := newValidator(t)
	body := `{"part_ids":["part_abc"]}`
	req := request(t, "POST", "/v1/uploads/upload_abc/complete", "application/json", body)
	if err := v.ValidateRequest(req); err != nil {
		t.Fatalf("ValidateRequest: %v", err)
	}
	got, err := io.ReadAll(req.Body)
	if err != nil || string(got) != body {
		t.Errorf("body after validation = %q, %v; want %q", got, err, body)
	}
}

// TestValidateRequestLeavesPartUnread proves that a part is never read by the validator, so a
// client streaming a 64 MiB part through the validating transport is not buffered.
func TestValidateRequestLeavesPartUnread(t *testing.T) {
	v := newValidator(t)
	form := "--b\r\nContent-Disposition: form-data; name=\"data\"; filename=\"x\"\r\n\r\nhello\r\n--b--\r\n"
	req := request(t, "POST", "/v1/uploads/upload_abc/parts", "multipart/form-data; boundary=b", form)
	src := req.Body
	if err := v.ValidateRequest(req); err != nil {
		t.Fatalf("ValidateRequest: %v", err)
	}
	if req.Body != src {
		t.Fatal("the validator replaced the body of a streamed part")
	}
	got, err := io.ReadAll(req.Body)
	if err != nil || string(got) != form {
		t.Errorf("part body after validation = %q, %v; want it unread", got, err)
	}
}

func TestValidateResponse(t *testing.T) {
	v := newValidator(t)
	for _, tc := range []struct {
		name, path, method string
		status             int
		header             http.Header
		body               string
		want               string
	}{
		{"cancelled upload", "/v1/uploads/upload_abc/cancel", "POST", 200, jsonHeader(), uploadJSON, ""},
		{"part", "/v1/uploads/upload_abc/parts", "POST", 200, jsonHeader(), partJSON, ""},
		{"part is checked", "/v1/uploads/upload_abc/parts", "POST", 200, jsonHeader(), `{"id":"part_abc"}`, `property "object" is missing`},
		{"download", "/v1/files/file-abc/content", "GET", 200, http.Header{"Content-Type": {"application/octet-stream"}}, "bytes", ""},
		{"download labelled JSON", "/v1/files/file-abc/content", "GET", 200, jsonHeader(), `{}`, `unexpected value: "application/json"`},
		{"download error is checked", "/v1/files/file-abc/content", "GET", 404, jsonHeader(), `{"error":{}}`, `property "message" is missing`},
		{"undocumented status", "/v1/uploads/upload_abc/cancel", "POST", 418, jsonHeader(), `{}`, "status is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := v.ValidateResponse(request(t, tc.method, tc.path, "", ""), tc.status, tc.header, []byte(tc.body))
			checkErr(t, err, tc.want)
		})
	}
}

func TestSchemaErrorsAreShort(t *testing.T) {
	v := newValidator(t)
	err := v.ValidateResponse(request(t, "POST", "/v1/uploads/upload_abc/cancel", "", ""), 200, jsonHeader(), []byte(`{}`))
	if err == nil {
		t.Fatal("an empty upload was accepted")
	}
	if strings.Contains(err.Error(), "Schema:") {
		t.Errorf("the error prints the whole schema: %v", err)
	}
}

func TestRoute(t *testing.T) {
	v := newValidator(t)
	if _, _, err := v.Route(request(t, "GET", "/v1/healthz", "", "")); !errors.Is(err, conformance.ErrNoRoute) {
		t.Errorf("Route(/v1/healthz) = %v, want ErrNoRoute", err)
	}
	route, params, err := newValidator(t, conformance.WithBasePath("")).Route(request(t, "POST", "/uploads/upload_abc/cancel", "", ""))
	if err != nil {
		t.Fatalf("Route without base path: %v", err)
	}
	if route.Operation.OperationID != "cancelUpload" || params["upload_id"] != "upload_abc" {
		t.Errorf("Route = %s %v, want cancelUpload upload_id=upload_abc", route.Operation.OperationID, params)
	}
}

// reports collects what a wrapper reports; it is safe for concurrent use, as Report must be.
type reports struct {
	mu   sync.Mutex
	errs []error
}

func (r *reports) report(err error) { r.mu.Lock(); r.errs = append(r.errs, err); r.mu.Unlock() }

func (r *reports) all() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

func TestRoundTripper(t *testing.T) {
	v := newValidator(t)
	big := `{"id":"upload_abc","filename":"` + strings.Repeat("x", 2<<20) + `"}`
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		wantBody string
		want     string
	}{
		{"valid", 200, uploadJSON, uploadJSON, ""},
		{"invalid", 200, `{"id":"upload_abc"}`, `{"id":"upload_abc"}`, "server answered with a response that breaks the spec"},
		{"over the buffer", 200, big, big, "over 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			var rep reports
			client := &http.Client{Transport: v.RoundTripper(nil, rep.report)}
			req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/v1/uploads/upload_abc/cancel", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer sk-test")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(got) != tc.wantBody {
				t.Errorf("the caller read %d bytes (%v), want the %d the server sent", len(got), err, len(tc.wantBody))
			}
			checkReports(t, rep.all(), tc.want)
		})
	}
}

func TestHandler(t *testing.T) {
	v := newValidator(t)
	accept := func(body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, body)
		})
	}
	for _, tc := range []struct {
		name, path, contentType, body string
		chunked                       bool
		handler                       http.Handler
		want                          string
	}{
		{"valid", "/v1/uploads/upload_abc/cancel", "", "", false, accept(uploadJSON), ""},
		{"bad response", "/v1/uploads/upload_abc/cancel", "", "", false, accept(`{}`), "server wrote a response that breaks the spec"},
		{"bad request accepted", "/v1/uploads/upload_abc/complete", "application/json", `{"part_ids":[]}`, false, accept(strings.Replace(uploadJSON, "cancelled", "completed", 1)), "server accepted a request that breaks the spec"},
		{"chunked request", "/v1/uploads/upload_abc/complete", "application/json", `{"part_ids":["part_abc"]}`, true, accept(strings.Replace(uploadJSON, "cancelled", "completed", 1)), ""},
		{"outside the spec", "/healthz", "", "", false, accept(`ok`), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rep reports
			srv := httptest.NewServer(v.Handler(tc.handler, rep.report))
			defer srv.Close()
			var body io.Reader = http.NoBody
			if tc.body != "" {
				body = strings.NewReader(tc.body)
				if tc.chunked {
					body = io.MultiReader(body) // hides the length: sent chunked
				}
			}
			req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer sk-test")
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			checkReports(t, rep.all(), tc.want)
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("rejected: %v", err)
	case want != "" && err == nil:
		t.Errorf("accepted, want an error containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("error %q does not contain %q", err, want)
	}
}

func checkReports(t *testing.T, errs []error, want string) {
	t.Helper()
	if want == "" {
		for _, err := range errs {
			t.Errorf("unexpected report: %v", err)
		}
		return
	}
	var all bytes.Buffer
	for _, err := range errs {
		all.WriteString(err.Error() + "\n")
	}
	if !strings.Contains(all.String(), want) {
		t.Errorf("reports %q do not contain %q", all.String(), want)
	}
}
