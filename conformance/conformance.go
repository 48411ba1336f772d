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
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/uploadkit/uploads/internal/speccheck"
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
	// Match any host and port: tests run on loopback at addresses the spec cannot know.
	router, err := speccheck.NewRouter(ctx, v.basePath)
	if err != nil {
		return nil, err
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

// validateRequest is ValidateRequest for a request already routed: speccheck's Observing check,
// on a body read into memory (at most maxBufferedBody) and put back afterwards.
func (v *Validator) validateRequest(r *http.Request, route *routers.Route, params map[string]string) error {
	if !speccheck.StreamsRequestBody(route) && r.Body != nil && r.Body != http.NoBody {
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
	if err := speccheck.CheckRequest(r.Context(), r, route, params, speccheck.Observing); err != nil {
		return &exchangeError{operation: route.Operation.OperationID, side: "request", err: err}
	}
	return nil
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
		RequestValidationInput: speccheck.RequestInput(r, route, params, speccheck.Observing),
		Status:                 status,
		Header:                 header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus:   true,
			MultiError:              true,
			ExcludeResponseBody:     speccheck.StreamsResponseBody(route) && status/100 == 2,
			SchemaValidationOptions: speccheck.SchemaOptions(),
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
