package uploads_test

import (
	"fmt"

	"github.com/uploadkit/uploads/conformance"
)

// issue is one violation of the spec, without the operation and status it was found in, so that a
// test can say exactly which one it expects.
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
	for _, v := range conformance.Violations(err) {
		out = append(out, issue{In: v.In, Field: v.Field, Reason: v.Reason})
	}
	return out
}
