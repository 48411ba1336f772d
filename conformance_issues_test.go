package uploads_test

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/uploadkit/uploads/conformance"
)

// issue is one violation of the spec, taken out of the error tree that openapi3filter returns so
// that a test can say exactly which one it expects.
type issue struct {
	// In is where the violation is: route, security, parameter, content-type, body or status.
	In string
	// Field is the JSON pointer of the offending value in a body ("/file/id", "" for the whole
	// body), or the name of a parameter.
	Field string
	// Reason is what is wrong, as kin-openapi words it.
	Reason string
}

func (i issue) String() string { return fmt.Sprintf("%s %q: %s", i.In, i.Field, i.Reason) }

// issues flattens a validation error into its violations; nil gives none.
func issues(err error) []issue {
	var out []issue
	collect(err, &out)
	return out
}

func collect(err error, out *[]issue) {
	switch e := err.(type) {
	case nil:
	case openapi3.MultiError:
		for _, err := range e {
			collect(err, out)
		}
	case *openapi3filter.SecurityRequirementsError:
		*out = append(*out, issue{In: "security", Reason: e.Error()})
	case *openapi3filter.RequestError:
		switch {
		case e.Parameter != nil:
			if hasSchemaError(e.Err) {
				schemaIssues(e.Err, "parameter", []string{e.Parameter.Name}, out)
			} else {
				*out = append(*out, issue{In: "parameter", Field: e.Parameter.Name, Reason: e.Error()})
			}
		case strings.HasPrefix(e.Reason, "header Content-Type"):
			*out = append(*out, issue{In: "content-type", Reason: e.Reason})
		case hasSchemaError(e.Err):
			schemaIssues(e.Err, "body", nil, out)
		default:
			*out = append(*out, issue{In: "body", Reason: e.Error()})
		}
	case *openapi3filter.ResponseError:
		switch {
		case e.Reason == "status is not supported":
			*out = append(*out, issue{In: "status", Reason: e.Reason})
		case strings.HasPrefix(e.Reason, "response header Content-Type"):
			*out = append(*out, issue{In: "content-type", Reason: e.Reason})
		case hasSchemaError(e.Err):
			schemaIssues(e.Err, "body", nil, out)
		default:
			*out = append(*out, issue{In: "body", Reason: e.Error()})
		}
	case *openapi3.SchemaError:
		schemaIssues(e, "body", nil, out)
	default:
		if errors.Is(err, conformance.ErrNoRoute) {
			*out = append(*out, issue{In: "route", Reason: err.Error()})
			return
		}
		if inner := errors.Unwrap(err); inner != nil {
			collect(inner, out)
			return
		}
		*out = append(*out, issue{In: "unknown", Reason: err.Error()})
	}
}

func hasSchemaError(err error) bool {
	var se *openapi3.SchemaError
	return errors.As(err, &se)
}

var unsupportedProperty = regexp.MustCompile(`^property "(.*)" is unsupported$`)

// schemaIssues collects the innermost schema errors of err, each with its full JSON pointer: an
// error inside an allOf carries the path from the allOf down, which is added to the outer one.
func schemaIssues(err error, in string, prefix []string, out *[]issue) {
	switch e := err.(type) {
	case nil:
	case openapi3.MultiError:
		for _, err := range e {
			schemaIssues(err, in, prefix, out)
		}
	case *openapi3.SchemaError:
		path := e.JSONPointer()
		if !hasPrefix(path, prefix) {
			path = append(slices.Clone(prefix), path...)
		}
		if e.Origin != nil && hasSchemaError(e.Origin) {
			schemaIssues(e.Origin, in, path, out)
			return
		}
		if m := unsupportedProperty.FindStringSubmatch(e.Reason); m != nil {
			path = append(path, m[1])
		}
		reason := e.Reason
		if reason == "" {
			reason = e.Error()
		}
		*out = append(*out, issue{In: in, Field: pointer(in, path), Reason: reason})
	case interface{ Unwrap() []error }:
		for _, err := range e.Unwrap() {
			schemaIssues(err, in, prefix, out)
		}
	case interface{ Unwrap() error }:
		schemaIssues(e.Unwrap(), in, prefix, out)
	default:
		*out = append(*out, issue{In: in, Field: pointer(in, prefix), Reason: err.Error()})
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
