package uploads_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/uploadkit/uploads/conformance"
	"github.com/uploadkit/uploads/openapi"
)

// exchangeDir holds one exchange per file; testdata/exchanges/README.md documents the format.
const exchangeDir = "testdata/exchanges"

// exchange is one HTTP request and, optionally, the response to it.
type exchange struct {
	Description string       `json:"description"`
	Operation   string       `json:"operation"`
	HeadersFile string       `json:"headers_file"`
	Request     message      `json:"request"`
	Response    *message     `json:"response"`
	Expect      *expectation `json:"expect"`
}

// message is the request or the response of an exchange.
type message struct {
	Method   string                 `json:"method"`
	Path     string                 `json:"path"`
	Status   int                    `json:"status"`
	Headers  map[string]headerValue `json:"headers"`
	Body     json.RawMessage        `json:"body"`
	BodyText *string                `json:"body_text"`
	BodyFile string                 `json:"body_file"`
}

// headerValue is a header given as a string, a list of strings, or null (remove the header).
type headerValue struct{ values []string }

func (h *headerValue) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		h.values = nil
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		h.values = []string{one}
		return nil
	}
	return json.Unmarshal(b, &h.values)
}

// expectation says which side of an exchange the spec must reject, and for what.
type expectation struct {
	Reject string          `json:"reject"`
	Errors []expectedIssue `json:"errors"`
}

// expectedIssue names one violation: where it is, the field, and a substring of the reason.
type expectedIssue struct {
	In     string  `json:"in"`
	Field  *string `json:"field"`
	Reason string  `json:"reason"`
}

func (e expectedIssue) String() string {
	field := "<any>"
	if e.Field != nil {
		field = *e.Field
	}
	return fmt.Sprintf("%s %s: …%s…", e.In, field, e.Reason)
}

func (e expectedIssue) matches(i issue) bool {
	return e.In == i.In && (e.Field == nil || *e.Field == i.Field) && strings.Contains(i.Reason, e.Reason)
}

// recordedHeaders is the shape of the files in testdata/recorded/headers.
type recordedHeaders struct {
	Request  map[string]headerValue `json:"request"`
	Response map[string]headerValue `json:"response"`
}

func loadExchange(t *testing.T, path string) exchange {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var ex exchange
	if err := dec.Decode(&ex); err != nil {
		t.Fatalf("%s: not a valid exchange file: %v", path, err)
	}
	switch {
	case ex.Description == "":
		t.Fatalf("%s: description is missing", path)
	case ex.Operation == "":
		t.Fatalf("%s: operation is missing", path)
	case ex.Request.Method == "" || ex.Request.Path == "":
		t.Fatalf("%s: request.method and request.path are required", path)
	case ex.Response != nil && ex.Response.Status == 0:
		t.Fatalf("%s: response.status is required", path)
	}
	if e := ex.Expect; e != nil {
		if e.Reject != "request" && e.Reject != "response" {
			t.Fatalf("%s: expect.reject is %q, want \"request\" or \"response\"", path, e.Reject)
		}
		if len(e.Errors) == 0 {
			t.Fatalf("%s: expect.errors names no error", path)
		}
		if e.Reject == "response" && ex.Response == nil {
			t.Fatalf("%s: expects the response to be rejected but has none", path)
		}
		for _, ei := range e.Errors {
			if ei.In == "" || ei.Reason == "" {
				t.Fatalf("%s: every expected error needs \"in\" and \"reason\": %+v", path, ei)
			}
		}
	}
	return ex
}

// body returns the bytes of a message's body, and whether it has one.
func (m *message) body(t *testing.T, casePath string) ([]byte, bool) {
	t.Helper()
	n := 0
	var b []byte
	if m.Body != nil {
		n++
		b = m.Body
	}
	if m.BodyText != nil {
		n++
		b = []byte(*m.BodyText)
	}
	if m.BodyFile != "" {
		n++
		var err error
		if b, err = os.ReadFile(filepath.Join(filepath.Dir(casePath), m.BodyFile)); err != nil {
			t.Fatalf("%s: body_file: %v", casePath, err)
		}
	}
	if n > 1 {
		t.Fatalf("%s: give at most one of body, body_text and body_file", casePath)
	}
	return b, n == 1
}

// header merges the recorded headers (if any) with the exchange's own, which win.
func header(recorded, own map[string]headerValue) http.Header {
	h := http.Header{}
	for _, m := range []map[string]headerValue{recorded, own} {
		for k, v := range m {
			h.Del(k)
			for _, s := range v.values {
				h.Add(k, s)
			}
		}
	}
	return h
}

// buildRequest turns the request of an exchange into an *http.Request. Content-Length comes from
// the body, not from the headers.
func buildRequest(t *testing.T, casePath string, ex exchange, recorded recordedHeaders) *http.Request {
	t.Helper()
	b, hasBody := ex.Request.body(t, casePath)
	var body io.Reader = http.NoBody
	if hasBody {
		body = bytes.NewReader(b)
	}
	r := httptest.NewRequestWithContext(t.Context(), ex.Request.Method, "http://api.test"+ex.Request.Path, body)
	r.Header = header(recorded.Request, ex.Request.Headers)
	r.Header.Del("Content-Length")
	r.ContentLength = int64(len(b))
	return r
}

func loadRecordedHeaders(t *testing.T, casePath string, ex exchange) recordedHeaders {
	t.Helper()
	var rh recordedHeaders
	if ex.HeadersFile == "" {
		return rh
	}
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(casePath), ex.HeadersFile))
	if err != nil {
		t.Fatalf("%s: headers_file: %v", casePath, err)
	}
	if err := json.Unmarshal(raw, &rh); err != nil {
		t.Fatalf("%s: headers_file %s: %v", casePath, ex.HeadersFile, err)
	}
	return rh
}

func exchangeFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(exchangeDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no exchanges in %s (%v)", exchangeDir, err)
	}
	return files
}

func newValidator(t *testing.T) *conformance.Validator {
	t.Helper()
	v, err := conformance.New(t.Context())
	if err != nil {
		t.Fatalf("load the spec: %v", err)
	}
	return v
}

// TestExchanges validates every exchange under testdata/exchanges against the spec: valid ones must
// pass, and invalid ones must be rejected on the named side with exactly the named errors.
func TestExchanges(t *testing.T) {
	v := newValidator(t)
	for _, path := range exchangeFiles(t) {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			t.Parallel()
			runExchange(t, v, path)
		})
	}
}

func runExchange(t *testing.T, v *conformance.Validator, path string) {
	ex := loadExchange(t, path)
	rec := loadRecordedHeaders(t, path, ex)
	req := buildRequest(t, path, ex, rec)

	route, _, err := v.Route(req)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if got := route.Operation.OperationID; got != ex.Operation {
		t.Fatalf("%s: %s %s routes to %s, the case says %s", path, req.Method, req.URL.Path, got, ex.Operation)
	}

	reqIssues := issues(v.ValidateRequest(req))
	reqIssues = append(reqIssues, streamedBodyIssues(t, v, buildRequest(t, path, ex, rec))...)
	reqIssues = dedupe(reqIssues)

	var respIssues []issue
	if ex.Response != nil {
		b, _ := ex.Response.body(t, path)
		h := header(rec.Response, ex.Response.Headers)
		respIssues = issues(v.ValidateResponse(req, ex.Response.Status, h, b))
	}

	reject := ""
	if ex.Expect != nil {
		reject = ex.Expect.Reject
	}
	for _, side := range []struct {
		name   string
		issues []issue
	}{{"request", reqIssues}, {"response", respIssues}} {
		if side.name != reject {
			for _, i := range side.issues {
				t.Errorf("%s: the %s must be valid, but the spec rejects it: %s", path, side.name, i)
			}
			continue
		}
		checkRejection(t, path, side.name, ex.Expect.Errors, side.issues)
	}
}

// checkRejection fails unless every expected error was found and every error found was expected, so
// a case that is rejected for another reason than the one it names fails.
func checkRejection(t *testing.T, path, side string, want []expectedIssue, got []issue) {
	t.Helper()
	if len(got) == 0 {
		t.Errorf("%s: the spec accepts the %s, but it must be rejected with %v", path, side, want)
		return
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, w.matches) {
			t.Errorf("%s: the %s is rejected, but not with the expected error %v; got:\n%s", path, side, w, list(got))
		}
	}
	for _, g := range got {
		if !slices.ContainsFunc(want, func(w expectedIssue) bool { return w.matches(g) }) {
			t.Errorf("%s: the %s is rejected with an error the case does not name: %s", path, side, g)
		}
	}
}

func list(is []issue) string {
	var b strings.Builder
	for _, i := range is {
		fmt.Fprintf(&b, "\t%s\n", i)
	}
	return b.String()
}

// streamedBodyIssues validates the body of a multipart request, which the Validator leaves unread
// so that parts are streamed; the bodies of test cases are small enough to read.
func streamedBodyIssues(t *testing.T, v *conformance.Validator, r *http.Request) []issue {
	t.Helper()
	route, params, err := v.Route(r)
	if err != nil || route.Operation.RequestBody == nil {
		return nil
	}
	rb := route.Operation.RequestBody.Value
	if rb.Content.Get("multipart/form-data") == nil {
		return nil
	}
	in := &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{
			MultiError:              true,
			SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
		},
	}
	return issues(openapi3filter.ValidateRequestBody(r.Context(), in, rb))
}

func dedupe(is []issue) []issue {
	var out []issue
	for _, i := range is {
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	return out
}

// TestExchangeCoverage keeps the exchanges complete: every operation has a valid exchange and at
// least three that must be rejected, and every recorded body and header file is used.
func TestExchangeCoverage(t *testing.T) {
	doc, err := openapi.Load(t.Context())
	if err != nil {
		t.Fatalf("load the spec: %v", err)
	}
	valid, invalid := map[string]int{}, map[string]int{}
	used := map[string]bool{}
	for _, path := range exchangeFiles(t) {
		ex := loadExchange(t, path)
		for _, f := range []string{ex.HeadersFile, ex.Request.BodyFile, responseBodyFile(ex)} {
			if f != "" {
				used[filepath.Clean(filepath.Join(filepath.Dir(path), f))] = true
			}
		}
		switch {
		case ex.Expect != nil:
			invalid[ex.Operation]++
		case ex.Response != nil && ex.Response.Status/100 == 2:
			valid[ex.Operation]++
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if valid[op.OperationID] == 0 {
				t.Errorf("operation %s has no valid exchange with a 2xx response in %s", op.OperationID, exchangeDir)
			}
			if invalid[op.OperationID] < 3 {
				t.Errorf("operation %s has %d exchanges that must be rejected in %s, want at least 3", op.OperationID, invalid[op.OperationID], exchangeDir)
			}
		}
	}
	recorded, err := filepath.Glob("testdata/recorded/*.json")
	if err != nil {
		t.Fatal(err)
	}
	headers, err := filepath.Glob("testdata/recorded/headers/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(recorded) == 0 {
		t.Fatal("no recorded bodies in testdata/recorded")
	}
	for _, f := range append(recorded, headers...) {
		if !used[filepath.Clean(f)] {
			t.Errorf("%s is used by no exchange in %s", f, exchangeDir)
		}
	}
}

func responseBodyFile(ex exchange) string {
	if ex.Response == nil {
		return ""
	}
	return ex.Response.BodyFile
}
