package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/uploadkit/uploads/internal/speccheck"
)

// Exchange is one HTTP exchange in the format of testdata/exchanges (its README.md documents every
// key): a request, optionally the response to it, and optionally the violations the spec must find
// in one of them. The Recorder writes exchanges in this format, and CheckExchangeFile checks them.
type Exchange struct {
	Description string       `json:"description"`
	Operation   string       `json:"operation"`
	HeadersFile string       `json:"headers_file,omitempty"`
	Request     Message      `json:"request"`
	Response    *Message     `json:"response,omitempty"`
	Expect      *Expectation `json:"expect,omitempty"`

	dir      string          // the directory files named in the exchange are relative to
	recorded recordedHeaders // the headers of HeadersFile
}

// Message is the request or the response of an Exchange. A request has Method and Path, a response
// Status. At most one of Body, BodyText, BodyFile, BodyDigest and Form is set.
type Message struct {
	Method  string                 `json:"method,omitempty"`
	Path    string                 `json:"path,omitempty"`
	Status  int                    `json:"status,omitempty"`
	Headers map[string]HeaderValue `json:"headers,omitempty"`
	// Body is a JSON body, inline.
	Body json.RawMessage `json:"body,omitempty"`
	// BodyText is a body that is not JSON (or not valid JSON), as a string.
	BodyText *string `json:"body_text,omitempty"`
	// BodyFile names a file holding the body, relative to the exchange's file.
	BodyFile string `json:"body_file,omitempty"`
	// BodyDigest stands for a body that was not stored, such as a part or a file's content.
	BodyDigest *BodyDigest `json:"body_digest,omitempty"`
	// Form is a multipart/form-data request body as its fields, in order (the boundary is the
	// Content-Type header's): what a Recorder stores for a part, whose bytes are given by their
	// size and SHA-256 only. The form is rebuilt for the check, with such a field empty.
	Form []FormField `json:"form,omitempty"`
}

// BodyDigest describes a body by its size and SHA-256 instead of its bytes.
type BodyDigest struct {
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	// Partial is set when the body was not read to its end (the other side stopped early): Bytes
	// and SHA256 cover what was read.
	Partial bool `json:"partial,omitempty"`
}

// HeaderValue is the value of one header: in JSON a string, a list of strings, or null (in an
// exchange with a headers_file: remove the header that file gives).
type HeaderValue []string

// UnmarshalJSON reads a string, a list of strings or null.
func (h *HeaderValue) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*h = nil
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*h = HeaderValue{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(h))
}

// MarshalJSON writes one value as a string, several as a list.
func (h HeaderValue) MarshalJSON() ([]byte, error) {
	if len(h) == 1 {
		return json.Marshal(h[0])
	}
	return json.Marshal([]string(h))
}

// Expectation says which side of an exchange the spec must reject, and with which violations.
type Expectation struct {
	Reject string              `json:"reject"`
	Errors []ExpectedViolation `json:"errors"`
}

// ExpectedViolation names one violation the spec must find: where it is, the field (nil for any),
// and a substring of the reason.
type ExpectedViolation struct {
	In     string  `json:"in"`
	Field  *string `json:"field,omitempty"`
	Reason string  `json:"reason"`
}

func (e ExpectedViolation) String() string {
	field := "<any>"
	if e.Field != nil {
		field = *e.Field
	}
	return fmt.Sprintf("%s %s: …%s…", e.In, field, e.Reason)
}

// Matches reports whether v is the violation e names.
func (e ExpectedViolation) Matches(v Violation) bool {
	return e.In == v.In && (e.Field == nil || *e.Field == v.Field) && strings.Contains(v.Reason, e.Reason)
}

// recordedHeaders is the shape of a headers_file (testdata/recorded/headers/*.json).
type recordedHeaders struct {
	Request  map[string]HeaderValue `json:"request"`
	Response map[string]HeaderValue `json:"response"`
}

// ReadExchange reads the exchange in the file at path, and the headers_file it names. Unknown keys
// and missing required ones are errors.
func ReadExchange(path string) (*Exchange, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	ex := &Exchange{dir: filepath.Dir(path)}
	if err := dec.Decode(ex); err != nil {
		return nil, fmt.Errorf("%s: not a valid exchange file: %w", path, err)
	}
	if err := ex.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if ex.HeadersFile != "" {
		raw, err := os.ReadFile(filepath.Join(ex.dir, ex.HeadersFile))
		if err != nil {
			return nil, fmt.Errorf("%s: headers_file: %w", path, err)
		}
		if err := json.Unmarshal(raw, &ex.recorded); err != nil {
			return nil, fmt.Errorf("%s: headers_file %s: %w", path, ex.HeadersFile, err)
		}
	}
	return ex, nil
}

// check requires the keys the format requires.
func (ex *Exchange) check() error {
	switch {
	case ex.Description == "":
		return errors.New("description is missing")
	case ex.Operation == "":
		return errors.New("operation is missing")
	case ex.Request.Method == "" || ex.Request.Path == "":
		return errors.New("request.method and request.path are required")
	case ex.Response != nil && ex.Response.Status == 0:
		return errors.New("response.status is required")
	case ex.Response != nil && ex.Response.Form != nil:
		return errors.New("form is for a request body only")
	}
	for _, m := range []*Message{&ex.Request, ex.Response} {
		if m != nil && m.bodies() > 1 {
			return errors.New("give at most one of body, body_text, body_file, body_digest and form")
		}
	}
	if e := ex.Expect; e != nil {
		if e.Reject != "request" && e.Reject != "response" {
			return fmt.Errorf("expect.reject is %q, want \"request\" or \"response\"", e.Reject)
		}
		if len(e.Errors) == 0 {
			return errors.New("expect.errors names no error")
		}
		if e.Reject == "response" && ex.Response == nil {
			return errors.New("expects the response to be rejected but has none")
		}
		for _, ev := range e.Errors {
			if ev.In == "" || ev.Reason == "" {
				return fmt.Errorf("every expected error needs \"in\" and \"reason\": %+v", ev)
			}
		}
	}
	return nil
}

func (m *Message) bodies() int {
	n := 0
	for _, set := range []bool{m.Body != nil, m.BodyText != nil, m.BodyFile != "", m.BodyDigest != nil, m.Form != nil} {
		if set {
			n++
		}
	}
	return n
}

// ReadBody returns the bytes of the message's body, and whether it has one whose bytes are known: a
// body given as a BodyDigest has none. A BodyFile is read relative to dir.
func (m *Message) ReadBody(dir string) ([]byte, bool, error) {
	switch {
	case m.Body != nil:
		return m.Body, true, nil
	case m.BodyText != nil:
		return []byte(*m.BodyText), true, nil
	case m.BodyFile != "":
		b, err := os.ReadFile(filepath.Join(dir, m.BodyFile))
		if err != nil {
			return nil, false, fmt.Errorf("body_file: %w", err)
		}
		return b, true, nil
	}
	return nil, false, nil
}

// mergeHeaders merges the headers of the headers_file with the exchange's own, which win.
func mergeHeaders(recorded, own map[string]HeaderValue) http.Header {
	h := http.Header{}
	for _, m := range []map[string]HeaderValue{recorded, own} {
		for k, v := range m {
			h.Del(k)
			for _, s := range v {
				h.Add(k, s)
			}
		}
	}
	return h
}

// NewRequest builds the exchange's request, addressed to http://api.test. Its Content-Length comes
// from the body (or the size of a body digest), never from the headers.
func (ex *Exchange) NewRequest(ctx context.Context) (*http.Request, error) {
	b, _, err := ex.Request.ReadBody(ex.dir)
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequestWithContext(ctx, ex.Request.Method, "http://api.test"+ex.Request.Path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	// Without GetBody, a caller that replaces the body has the new one validated: kin-openapi
	// reads a request's body through GetBody when there is one.
	r.GetBody = nil
	r.Header = mergeHeaders(ex.recorded.Request, ex.Request.Headers)
	if ex.Request.Form != nil {
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || params["boundary"] == "" {
			return nil, errors.New("request.form needs a multipart Content-Type with a boundary")
		}
		if b, err = formBody(ex.Request.Form, params["boundary"]); err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	r.Header.Del("Content-Length")
	r.ContentLength = int64(len(b))
	if d := ex.Request.BodyDigest; d != nil {
		r.ContentLength = d.Bytes
	}
	if r.ContentLength == 0 {
		r.Body = http.NoBody
	}
	return r, nil
}

// ResponseHeader returns the headers of the exchange's response: those of its headers_file, then
// its own.
func (ex *Exchange) ResponseHeader() http.Header {
	var own map[string]HeaderValue
	if ex.Response != nil {
		own = ex.Response.Headers
	}
	return mergeHeaders(ex.recorded.Response, own)
}

// Failure is one way an exchange fails its check.
type Failure struct {
	// Side is "request" or "response".
	Side string
	// Violation is the violation found, when the failure is one (a violation where the side must be
	// valid, or one the exchange does not expect); nil otherwise.
	Violation *Violation
	// Message says what is wrong, in one line.
	Message string
}

func (f Failure) String() string { return f.Message }

// CheckExchangeFile reads the exchange at path and checks it against the spec. Without "expect",
// the request and the response must both be valid; with it, the side it names must be rejected
// with exactly the violations it names (each found, none other), and the other side must be valid.
// The request must also be routed to the exchange's operation. The error is for a file that
// cannot be read as an exchange.
func (v *Validator) CheckExchangeFile(ctx context.Context, path string) ([]Failure, error) {
	ex, err := ReadExchange(path)
	if err != nil {
		return nil, err
	}
	return v.CheckExchange(ctx, ex)
}

// CheckExchange checks an exchange as CheckExchangeFile does.
func (v *Validator) CheckExchange(ctx context.Context, ex *Exchange) ([]Failure, error) {
	req, err := ex.NewRequest(ctx)
	if err != nil {
		return nil, err
	}
	route, params, err := v.Route(req)
	if err != nil {
		return []Failure{{Side: "request", Message: err.Error()}}, nil
	}
	op := route.Operation.OperationID
	if op != ex.Operation {
		return []Failure{{Side: "request", Message: fmt.Sprintf("%s %s routes to %s, the exchange says %s", req.Method, req.URL.Path, op, ex.Operation)}}, nil
	}

	var failures []Failure
	reqViolations := Violations(v.validateRequest(req, route, params))
	if ex.Request.BodyDigest != nil && !speccheck.StreamsRequestBody(route) {
		failures = append(failures, Failure{Side: "request", Message: "the body was stored as a digest only, so it cannot be checked"})
	}
	if again, err := ex.NewRequest(ctx); err == nil && ex.Request.BodyDigest == nil {
		reqViolations = dedupe(append(reqViolations, v.multipartViolations(again)...))
	}

	var respViolations []Violation
	if ex.Response != nil {
		body, _, err := ex.Response.ReadBody(ex.dir)
		if err != nil {
			return nil, err
		}
		streamed := speccheck.StreamsResponseBody(route) && ex.Response.Status/100 == 2
		if ex.Response.BodyDigest != nil && !streamed {
			failures = append(failures, Failure{Side: "response", Message: "the body was stored as a digest only, so it cannot be checked"})
		}
		respViolations = Violations(v.validateResponse(req, route, params, ex.Response.Status, ex.ResponseHeader(), body))
	}

	reject := ""
	if ex.Expect != nil {
		reject = ex.Expect.Reject
	}
	for _, side := range []struct {
		name       string
		violations []Violation
	}{{"request", reqViolations}, {"response", respViolations}} {
		if side.name != reject {
			for _, vi := range side.violations {
				failures = append(failures, Failure{Side: side.name, Violation: &vi,
					Message: fmt.Sprintf("the %s must be valid, but the spec rejects it: %s", side.name, vi)})
			}
			continue
		}
		failures = append(failures, rejectionFailures(side.name, ex.Expect.Errors, side.violations)...)
	}
	return failures, nil
}

// rejectionFailures fails unless every expected violation was found and every violation found was
// expected, so an exchange that is rejected for another reason than the one it names fails.
func rejectionFailures(side string, want []ExpectedViolation, got []Violation) []Failure {
	if len(got) == 0 {
		return []Failure{{Side: side, Message: fmt.Sprintf("the spec accepts the %s, but it must be rejected with %v", side, want)}}
	}
	var failures []Failure
	for _, w := range want {
		if !slices.ContainsFunc(got, w.Matches) {
			var list strings.Builder
			for _, g := range got {
				list.WriteString("; " + g.String())
			}
			failures = append(failures, Failure{Side: side,
				Message: fmt.Sprintf("the %s is rejected, but not with the expected error %v; got%s", side, w, list.String())})
		}
	}
	for _, g := range got {
		if !slices.ContainsFunc(want, func(w ExpectedViolation) bool { return w.Matches(g) }) {
			failures = append(failures, Failure{Side: side, Violation: &g,
				Message: fmt.Sprintf("the %s is rejected with an error the exchange does not name: %s", side, g)})
		}
	}
	return failures
}

// multipartViolations validates the body of a multipart request, which the Validator leaves
// unread so that parts are streamed; the bodies of stored exchanges are small enough to read.
func (v *Validator) multipartViolations(r *http.Request) []Violation {
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
		Options: &openapi3filter.Options{MultiError: true, SchemaValidationOptions: speccheck.SchemaOptions()},
	}
	err = openapi3filter.ValidateRequestBody(r.Context(), in, rb)
	if err == nil {
		return nil
	}
	return Violations(&exchangeError{operation: route.Operation.OperationID, side: "request", err: err})
}
