// Package conformance checks HTTP exchanges against openapi/uploads.yaml.
//
// A Validator checks one request or response at a time, and wraps an http.RoundTripper (for
// client tests) or an http.Handler (for server tests) so that every exchange that passes through is
// checked. Violations are reported to a callback, typically a test's Errorf, rather than changing
// the exchange, so a test sees both the real answer and every way it strayed from the spec.
//
// In production, ReportingTransport does the same check and hands each Violation to a callback
// (a logger, a metric) without ever failing a call, so that a service that starts answering
// differently is noticed. A Recorder writes real exchanges to files in the format of
// testdata/exchanges, secrets redacted, and CheckExchangeFile checks such a file against the spec
// (`make conformance EXCHANGES=DIR`).
package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/uploadkit/uploads/openapi"
)

// DefaultBasePath is the path prefix the spec's operations live under (the "/v1" of
// https://api.openai.com/v1).
const DefaultBasePath = "/v1"

// maxBufferedBody bounds how much of a JSON body the wrappers hold in memory to validate it. Every
// JSON body of this API is far smaller; a larger one is reported as a violation, not buffered.
const maxBufferedBody = 1 << 20

// ErrNoRoute is returned (wrapped) when a request matches no operation of the spec.
var ErrNoRoute = errors.New("no operation of the spec matches")

// Validator checks requests and responses against the spec. It is safe for concurrent use.
type Validator struct {
	router   routers.Router
	basePath string
}

// Option configures a Validator.
type Option func(*Validator)

// WithBasePath sets the path prefix under which the operations are served (default "/v1").
func WithBasePath(p string) Option {
	return func(v *Validator) { v.basePath = strings.TrimRight(p, "/") }
}

// New loads the embedded spec and builds a Validator for it.
func New(ctx context.Context, opts ...Option) (*Validator, error) {
	v := &Validator{basePath: DefaultBasePath}
	for _, o := range opts {
		o(v)
	}
	doc, err := openapi.Load(ctx)
	if err != nil {
		return nil, err
	}
	// Match any host and port: tests run on loopback at addresses the spec cannot know.
	doc.Servers = openapi3.Servers{{URL: v.basePath}}
	if v.basePath == "" {
		doc.Servers = nil
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("build router: %w", err)
	}
	v.router = router
	return v, nil
}

// Route finds the operation a request is for. The error wraps ErrNoRoute when there is none.
func (v *Validator) Route(r *http.Request) (*routers.Route, map[string]string, error) {
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w (%v)", r.Method, r.URL.Path, ErrNoRoute, err)
	}
	return route, params, nil
}

// streamsRequestBody reports whether an operation's request body is a stream of bytes that the
// validators leave unread: the parts of addUploadPart. Its headers are still checked.
func streamsRequestBody(route *routers.Route) bool {
	return route.Operation.OperationID == "addUploadPart"
}

// streamsResponseBody reports whether an operation's successful response body is a stream of bytes
// that the validators leave unread: the content of downloadFile. Its headers are still checked.
func streamsResponseBody(route *routers.Route) bool {
	return route.Operation.OperationID == "downloadFile"
}

func checkBearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	auth := in.RequestValidationInput.Request.Header.Get("Authorization")
	// The scheme name is case-insensitive (RFC 7235), the token is not.
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errors.New("missing bearer token in the Authorization header")
	}
	return nil
}

// schemaOptions keep schema errors to the path and the reason: the default message also prints the
// whole schema and the offending value, which buries the reason in a report.
var schemaOptions = []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}

func (v *Validator) requestInput(r *http.Request, route *routers.Route, params map[string]string) *openapi3filter.RequestValidationInput {
	return &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:                checkBearer,
			MultiError:                        true,
			ExcludeRequestBody:                streamsRequestBody(route),
			RejectWhenRequestBodyNotSpecified: true,
			SchemaValidationOptions:           schemaOptions,
			// A check looks and changes nothing: without this, the defaults of query parameters
			// the request left out would be written into it (and sent, by the RoundTripper).
			SkipSettingDefaults: true,
		},
	}
}

// checkStreamedRequest checks the Content-Type of a request whose body the validators leave unread,
// which openapi3filter skips together with the body.
func checkStreamedRequest(in *openapi3filter.RequestValidationInput) error {
	body := in.Route.Operation.RequestBody
	if body == nil || body.Value == nil {
		return nil
	}
	ct := in.Request.Header.Get("Content-Type")
	if body.Value.Content.Get(ct) == nil {
		return &openapi3filter.RequestError{
			Input:       in,
			RequestBody: body.Value,
			Reason:      fmt.Sprintf("header Content-Type has unexpected value %q", ct),
		}
	}
	// A multipart body cannot be read without its boundary.
	if mediaType, params, err := mime.ParseMediaType(ct); err == nil && strings.HasPrefix(mediaType, "multipart/") && params["boundary"] == "" {
		return &openapi3filter.RequestError{
			Input:       in,
			RequestBody: body.Value,
			Reason:      fmt.Sprintf("header Content-Type has no boundary in %q", ct),
		}
	}
	return nil
}

// checkStreamedResponse checks the Content-Type of a response whose body the validators leave
// unread, which openapi3filter skips together with the body.
func checkStreamedResponse(in *openapi3filter.ResponseValidationInput) error {
	ref := in.RequestValidationInput.Route.Operation.Responses.Status(in.Status)
	if ref == nil || ref.Value == nil || len(ref.Value.Content) == 0 {
		return nil
	}
	ct := in.Header.Get("Content-Type")
	if ref.Value.Content.Get(ct) == nil {
		return &openapi3filter.ResponseError{
			Input:  in,
			Reason: fmt.Sprintf("response header Content-Type has unexpected value: %q", ct),
		}
	}
	return nil
}

// ValidateRequest checks a request against its operation. The request body, when it is read, is
// put back so the request can still be sent or served.
func (v *Validator) ValidateRequest(r *http.Request) error {
	route, params, err := v.Route(r)
	if err != nil {
		return err
	}
	return v.validateRequest(r, route, params)
}

// validateRequest is ValidateRequest for a request already routed.
func (v *Validator) validateRequest(r *http.Request, route *routers.Route, params map[string]string) error {
	in := v.requestInput(r, route, params)
	if !in.Options.ExcludeRequestBody && r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBufferedBody+1))
		if err != nil {
			return &exchangeError{operation: route.Operation.OperationID, side: "request", err: fmt.Errorf("read request body: %w", err)}
		}
		r.Body.Close()
		if len(body) > maxBufferedBody {
			return &exchangeError{operation: route.Operation.OperationID, side: "request", err: fmt.Errorf("request body is over %d bytes", maxBufferedBody)}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		defer func() { r.Body = io.NopCloser(bytes.NewReader(body)) }()
	}
	if in.Options.ExcludeRequestBody {
		// openapi3filter's security check reads whatever body it is given into memory, even with
		// ExcludeRequestBody set: check a copy of the request without the streamed body.
		checked := r.WithContext(r.Context())
		checked.Body = http.NoBody
		in.Request = checked
	}
	err := openapi3filter.ValidateRequest(r.Context(), in)
	if in.Options.ExcludeRequestBody {
		err = joinMulti(err, checkStreamedRequest(in))
	}
	if err != nil {
		return &exchangeError{operation: route.Operation.OperationID, side: "request", err: err}
	}
	return nil
}

// joinMulti adds extra, when not nil, to err as one more entry of an openapi3.MultiError, the shape
// that openapi3filter reports several violations in.
func joinMulti(err, extra error) error {
	if extra == nil {
		return err
	}
	if err == nil {
		return extra
	}
	if me, ok := err.(openapi3.MultiError); ok {
		return append(me, extra)
	}
	return openapi3.MultiError{err, extra}
}

// ValidateResponse checks a response to r against the spec: the status must be documented for the
// operation, and the content type and body must match it. The body of downloadFile is not read.
func (v *Validator) ValidateResponse(r *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := v.Route(r)
	if err != nil {
		return err
	}
	return v.validateResponse(r, route, params, status, header, body)
}

// validateResponse is ValidateResponse for a request already routed.
func (v *Validator) validateResponse(r *http.Request, route *routers.Route, params map[string]string, status int, header http.Header, body []byte) error {
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: v.requestInput(r, route, params),
		Status:                 status,
		Header:                 header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus:   true,
			MultiError:              true,
			ExcludeResponseBody:     streamsResponseBody(route) && status/100 == 2,
			SchemaValidationOptions: schemaOptions,
		},
	}
	in.SetBodyBytes(body)
	err := openapi3filter.ValidateResponse(r.Context(), in)
	if err == nil && in.Options.ExcludeResponseBody {
		err = checkStreamedResponse(in)
	}
	if err != nil {
		return &exchangeError{operation: route.Operation.OperationID, side: "response", status: status, err: err}
	}
	return nil
}
