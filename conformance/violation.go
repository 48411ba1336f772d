package conformance

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// Violation is one way a request or a response strays from the spec.
type Violation struct {
	// Operation is the operationId of the exchange; "" when the request matches no operation.
	Operation string
	// Side is "request" or "response".
	Side string
	// Status is the status of the response (of the answer to the request, for a violation in the
	// request); 0 when there was none.
	Status int
	// In is where the violation is: "route" (no operation matches), "security", "parameter",
	// "content-type", "body", or "status" (a status the operation does not document).
	In string
	// Field is the JSON pointer of the offending value in a body ("/file/id"; "" for the body as a
	// whole), or the name of a parameter; "" elsewhere.
	Field string
	// Reason is what is wrong, as kin-openapi words it: `property "purpose" is missing`, `value is
	// not one of the allowed values`, ...
	Reason string
	// RequestID is the x-request-id of the response, when there is one.
	RequestID string
}

// String writes the violation on one line: "cancelUpload response 200: body /status: value is not
// one of the allowed values".
func (v Violation) String() string {
	var where []string
	if v.Operation != "" {
		where = append(where, v.Operation)
	}
	if v.Side != "" {
		where = append(where, v.Side)
	}
	if v.Side == "response" && v.Status != 0 {
		where = append(where, strconv.Itoa(v.Status))
	}
	var b strings.Builder
	if len(where) > 0 {
		b.WriteString(strings.Join(where, " ") + ": ")
	}
	b.WriteString(v.In)
	if v.Field != "" {
		b.WriteString(" " + v.Field)
	}
	b.WriteString(": " + v.Reason)
	if v.RequestID != "" {
		b.WriteString(" (request " + v.RequestID + ")")
	}
	return b.String()
}

// exchangeError is what ValidateRequest and ValidateResponse return: the violations of one side of
// an exchange, with the operation and status they were found in.
type exchangeError struct {
	operation string
	side      string
	status    int
	err       error
}

func (e *exchangeError) Error() string {
	if e.side == "response" {
		return fmt.Sprintf("%s response %d: %v", e.operation, e.status, e.err)
	}
	return fmt.Sprintf("%s %s: %v", e.operation, e.side, e.err)
}

func (e *exchangeError) Unwrap() error { return e.err }

// Violations takes the violations out of an error returned by ValidateRequest or ValidateResponse,
// one per offending field; nil gives none. Operation, Side and Status are filled in when err says
// them; RequestID never is.
func Violations(err error) []Violation {
	if err == nil {
		return nil
	}
	base := Violation{}
	var ee *exchangeError
	if errors.As(err, &ee) {
		base = Violation{Operation: ee.operation, Side: ee.side, Status: ee.status}
		err = ee.err
	}
	var out []Violation
	collect(err, base, &out)
	return dedupe(out)
}

func collect(err error, base Violation, out *[]Violation) {
	add := func(in, field, reason string) {
		v := base
		v.In, v.Field, v.Reason = in, field, reason
		*out = append(*out, v)
	}
	switch e := err.(type) {
	case nil:
	case openapi3.MultiError:
		for _, err := range e {
			collect(err, base, out)
		}
	case *openapi3filter.SecurityRequirementsError:
		add("security", "", e.Error())
	case *openapi3filter.RequestError:
		switch {
		case e.Parameter != nil:
			if hasSchemaError(e.Err) {
				schemaViolations(e.Err, base, "parameter", []string{e.Parameter.Name}, out)
			} else {
				add("parameter", e.Parameter.Name, e.Error())
			}
		case strings.HasPrefix(e.Reason, "header Content-Type"):
			add("content-type", "", e.Reason)
		case hasSchemaError(e.Err):
			schemaViolations(e.Err, base, "body", nil, out)
		default:
			add("body", "", e.Error())
		}
	case *openapi3filter.ResponseError:
		switch {
		case e.Reason == "status is not supported":
			add("status", "", e.Reason)
		case strings.HasPrefix(e.Reason, "response header Content-Type"):
			add("content-type", "", e.Reason)
		case hasSchemaError(e.Err):
			schemaViolations(e.Err, base, "body", nil, out)
		default:
			add("body", "", e.Error())
		}
	case *openapi3.SchemaError:
		schemaViolations(e, base, "body", nil, out)
	default:
		if errors.Is(err, ErrNoRoute) {
			add("route", "", err.Error())
			return
		}
		if inner := errors.Unwrap(err); inner != nil {
			collect(inner, base, out)
			return
		}
		add("body", "", err.Error())
	}
}

func hasSchemaError(err error) bool {
	var se *openapi3.SchemaError
	return errors.As(err, &se)
}

var unsupportedProperty = regexp.MustCompile(`^property "(.*)" is unsupported$`)

// schemaViolations collects the innermost schema errors of err, each with its full JSON pointer: an
// error inside an allOf carries the path from the allOf down, which is added to the outer one.
func schemaViolations(err error, base Violation, in string, prefix []string, out *[]Violation) {
	switch e := err.(type) {
	case nil:
	case openapi3.MultiError:
		for _, err := range e {
			schemaViolations(err, base, in, prefix, out)
		}
	case *openapi3.SchemaError:
		path := e.JSONPointer()
		if !hasPrefix(path, prefix) {
			path = append(slices.Clone(prefix), path...)
		}
		if e.Origin != nil && hasSchemaError(e.Origin) {
			schemaViolations(e.Origin, base, in, path, out)
			return
		}
		if m := unsupportedProperty.FindStringSubmatch(e.Reason); m != nil {
			path = append(path, m[1])
		}
		reason := e.Reason
		if reason == "" {
			reason = e.Error()
		}
		v := base
		v.In, v.Field, v.Reason = in, pointer(in, path), reason
		*out = append(*out, v)
	case interface{ Unwrap() []error }:
		for _, err := range e.Unwrap() {
			schemaViolations(err, base, in, prefix, out)
		}
	case interface{ Unwrap() error }:
		schemaViolations(e.Unwrap(), base, in, prefix, out)
	default:
		v := base
		v.In, v.Field, v.Reason = in, pointer(in, prefix), err.Error()
		*out = append(*out, v)
	}
}

func pointer(in string, path []string) string {
	if in == "parameter" {
		return strings.Join(path, "/")
	}
	if len(path) == 0 {
		return ""
	}
	return "/" + strings.Join(path, "/")
}

func hasPrefix(path, prefix []string) bool {
	return len(path) >= len(prefix) && slices.Equal(path[:len(prefix)], prefix)
}

// dedupe drops repeated violations, keeping the first of each: kin-openapi may report one problem
// twice (once for the security check and once for the body, say).
func dedupe(vs []Violation) []Violation {
	var out []Violation
	for _, v := range vs {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
