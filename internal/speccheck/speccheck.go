// Package speccheck is the one place where a request is checked against openapi/uploads.yaml: the
// router that finds a request's operation and the call of kin-openapi's request validator, with
// the rules both users share (a part's body is never read, a body where the spec has none is
// refused). The reference server (package server) checks every request with it before a handler
// runs; package conformance checks exchanges with it in tests, recordings and production. They
// differ only in what the Mode says.
package speccheck

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/uploadkit/uploads/openapi"
)

// The operations whose bodies are streams of bytes, never read whole to be validated.
const (
	opAddUploadPart = "addUploadPart" // the request's part
	opDownloadFile  = "downloadFile"  // the response's file content
)

// NewRouter loads the embedded spec and builds the router that finds a request's operation, on
// any host and port, under basePath ("/v1"; "" for operations at the root).
func NewRouter(ctx context.Context, basePath string) (routers.Router, error) {
	doc, err := openapi.Load(ctx)
	if err != nil {
		return nil, err
	}
	doc.Servers = openapi3.Servers{{URL: strings.TrimRight(basePath, "/")}}
	if doc.Servers[0].URL == "" {
		doc.Servers = nil
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("build the router of the spec: %w", err)
	}
	return router, nil
}

// StreamsRequestBody reports whether the operation's request body is a stream of bytes (the part
// of addUploadPart) that is checked by its headers only.
func StreamsRequestBody(route *routers.Route) bool {
	return route.Operation.OperationID == opAddUploadPart
}

// StreamsResponseBody reports whether the operation's successful response body is a stream of
// bytes (the content of downloadFile) that is checked by its headers only.
func StreamsResponseBody(route *routers.Route) bool {
	return route.Operation.OperationID == opDownloadFile
}

// Mode is what a check is for.
type Mode int

const (
	// Serving is the check a server makes before its handler runs: it stops at the first
	// violation, leaves the key to the server's own authentication, fills in the defaults of
	// parameters left out, and hands the handler the body exactly as it was validated.
	Serving Mode = iota
	// Observing is the check of an exchange seen from outside (a test, a recording, a drift
	// report): it reports every violation, requires a bearer token, and changes nothing.
	Observing
)

// SchemaOptions keep schema errors to the path and the reason: the default message also prints
// the whole schema and the offending value, which buries the reason in a report.
func SchemaOptions() []openapi3.SchemaValidationOption {
	return []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}
}

// RequestInput is the validator's input for r, routed to route with params, in mode m.
func RequestInput(r *http.Request, route *routers.Route, params map[string]string, m Mode) *openapi3filter.RequestValidationInput {
	opts := &openapi3filter.Options{
		ExcludeRequestBody: StreamsRequestBody(route),
		// An operation without a body (cancelUpload) refuses one: a client sending it has the
		// API wrong.
		RejectWhenRequestBodyNotSpecified: true,
		SchemaValidationOptions:           SchemaOptions(),
	}
	switch m {
	case Serving:
		opts.AuthenticationFunc = openapi3filter.NoopAuthenticationFunc
		// Hand the handler exactly the value that was validated (see runtime.BindJSONBody).
		opts.KeepValidatedValue = true
	case Observing:
		opts.AuthenticationFunc = checkBearer
		opts.MultiError = true
		// Without this, the defaults of query parameters the request left out would be
		// written into it (and sent, by a client-side wrapper).
		opts.SkipSettingDefaults = true
	}
	return &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
}

// CheckRequest checks r against its operation. The body of a streamed operation is never read:
// the request is checked as a copy without it (kin-openapi's security check would read it into
// memory, even when told to leave the body out), and in Observing mode its Content-Type is
// checked against the spec instead. Any other body is read by the validator: in Serving mode it is then the
// validated value; in Observing mode the caller passes a request whose body it can read again.
// In Observing mode the error holds every violation, as an openapi3.MultiError.
func CheckRequest(ctx context.Context, r *http.Request, route *routers.Route, params map[string]string, m Mode) error {
	in := RequestInput(r, route, params, m)
	streamed := in.Options.ExcludeRequestBody
	if streamed {
		checked := r.WithContext(r.Context())
		checked.Body = http.NoBody
		in.Request = checked
	}
	err := openapi3filter.ValidateRequest(ctx, in)
	// A server checks a part's form itself, as it streams it, with errors of its own.
	if streamed && m == Observing {
		err = joinMulti(err, checkStreamedRequest(in, r.Header.Get("Content-Type")))
	}
	return err
}

// checkStreamedRequest checks the Content-Type of a request whose body is left unread, which
// openapi3filter skips together with the body.
func checkStreamedRequest(in *openapi3filter.RequestValidationInput, ct string) error {
	body := in.Route.Operation.RequestBody
	if body == nil || body.Value == nil {
		return nil
	}
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

// checkBearer requires an Authorization header with a bearer token, whatever the token.
func checkBearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	auth := in.RequestValidationInput.Request.Header.Get("Authorization")
	// The scheme name is case-insensitive (RFC 7235), the token is not.
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return fmt.Errorf("missing bearer token in the Authorization header")
	}
	return nil
}

// joinMulti adds extra, when not nil, to err as one more entry of an openapi3.MultiError, the shape
// in which openapi3filter reports several violations.
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
