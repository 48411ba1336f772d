// Package conformance checks HTTP exchanges against openapi/uploads.yaml.
//
// A Validator checks one request or response at a time, and wraps an http.RoundTripper (for
// client tests) or an http.Handler (for server tests) so that every exchange that passes through is
// checked. Violations are reported to a callback, typically a test's Errorf, rather than changing
// the exchange, so a test sees both the real answer and every way it strayed from the spec.
package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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

// streamsBody reports whether an operation's body is a stream of bytes that the validators leave
// unread: the parts of addUploadPart and the content of downloadFile. Their headers are still checked.
func streamsBody(route *routers.Route) bool {
	switch route.Operation.OperationID {
	case "addUploadPart", "downloadFile":
		return true
	}
	return false
}

func checkBearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	auth := in.RequestValidationInput.Request.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "Bearer ") || strings.TrimSpace(auth[len("Bearer "):]) == "" {
		return errors.New("missing bearer token in the Authorization header")
	}
	return nil
}

func (v *Validator) requestInput(r *http.Request, route *routers.Route, params map[string]string) *openapi3filter.RequestValidationInput {
	return &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc: checkBearer,
			MultiError:         true,
			ExcludeRequestBody: streamsBody(route),
		},
	}
}

// ValidateRequest checks a request against its operation. The request body, when it is read, is
// put back so the request can still be sent or served.
func (v *Validator) ValidateRequest(r *http.Request) error {
	route, params, err := v.Route(r)
	if err != nil {
		return err
	}
	in := v.requestInput(r, route, params)
	if !in.Options.ExcludeRequestBody && r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBufferedBody+1))
		if err != nil {
			return fmt.Errorf("%s: read request body: %w", route.Operation.OperationID, err)
		}
		r.Body.Close()
		if len(body) > maxBufferedBody {
			return fmt.Errorf("%s: request body is over %d bytes", route.Operation.OperationID, maxBufferedBody)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		defer func() { r.Body = io.NopCloser(bytes.NewReader(body)) }()
	}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		return fmt.Errorf("%s request: %w", route.Operation.OperationID, err)
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
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: v.requestInput(r, route, params),
		Status:                 status,
		Header:                 header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
			ExcludeResponseBody:   streamsBody(route) && status/100 == 2,
		},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(r.Context(), in); err != nil {
		return fmt.Errorf("%s response %d: %w", route.Operation.OperationID, status, err)
	}
	return nil
}
