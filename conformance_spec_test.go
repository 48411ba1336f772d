package uploads_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/uploadkit/uploads/openapi"
)

// TestSpecIsValid loads the embedded spec the way every other test does and runs kin-openapi's
// Validate on it.
func TestSpecIsValid(t *testing.T) {
	doc, err := openapi.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("openapi/uploads.yaml does not pass openapi3 Validate: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi/uploads.yaml declares OpenAPI %q, want 3.0.3", doc.OpenAPI)
	}
}

// TestSpecIsDocumented requires a description and an example on every operation, parameter and
// field, since people read the spec as documentation. An operation's examples are those of its
// request and response bodies. A field or body whose schema is an object (or a list of objects) is
// exemplified by the examples of its fields; `example: null` counts, it is what the service sends.
func TestSpecIsDocumented(t *testing.T) {
	missing, err := documentationGaps(t.Context(), openapi.YAML)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("openapi/uploads.yaml lacks %d descriptions or examples:\n\t%s", len(missing), strings.Join(missing, "\n\t"))
	}
}

// TestSpecDocumentationGapsAreFound proves TestSpecIsDocumented can fail: each edit of the spec
// takes away one description or example, and the gap must be found where it was made.
func TestSpecDocumentationGapsAreFound(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"operation description", "      summary: Cancel upload\n      description: |\n", "      summary: Cancel upload\n      x-description: |\n", "POST /uploads/{upload_id}/cancel (cancelUpload): no description"},
		{"null example", "          example: null\n", "\n", "#/components/schemas/FileObject/properties/status_details: no example"},
		{"parameter example", "        example: file-RRx32Mws4VZG3ZUnsU6Dvf\n      example: file-RRx32Mws4VZG3ZUnsU6Dvf\n", "\n", "#/components/parameters/FileID: no example"},
		{"field description", "          description: The name of the file to be uploaded.\n", "\n", "#/components/schemas/Upload/properties/filename: no description"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Count(string(openapi.YAML), tc.old) == 0 {
				t.Fatalf("the spec no longer contains %q: update this case to remove another description or example", tc.old)
			}
			edited := strings.Replace(string(openapi.YAML), tc.old, tc.new, 1)
			missing, err := documentationGaps(t.Context(), []byte(edited))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(missing, func(m string) bool { return strings.HasSuffix(m, tc.want) }) {
				t.Errorf("removing %q was not noticed; want a gap ending in %q, got %q", tc.old, tc.want, missing)
			}
		})
	}
}

// documentationGaps lists, with line numbers, each operation, parameter, field and body of the
// spec in data that lacks a description or an example.
func documentationGaps(ctx context.Context, data []byte) ([]string, error) {
	loader := openapi3.NewLoader()
	loader.IncludeOrigin = true // to tell `example: null` from no example, and to give line numbers
	loader.Context = ctx
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("load openapi/uploads.yaml: %w", err)
	}
	var missing []string
	miss := func(origin *openapi3.Origin, where, what string) {
		line := ""
		if origin != nil && origin.Key != nil {
			line = fmt.Sprintf(":%d", origin.Key.Line)
		}
		missing = append(missing, fmt.Sprintf("openapi/uploads.yaml%s %s: %s", line, where, what))
	}

	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for _, method := range slices.Sorted(maps.Keys(item.Operations())) {
			op := item.GetOperation(method)
			where := fmt.Sprintf("%s %s (%s)", method, path, op.OperationID)
			if strings.TrimSpace(op.Description) == "" {
				miss(op.Origin, where, "no description")
			}
			for _, p := range op.Parameters {
				checkParameter(p.Value, where+" parameter "+p.Value.Name, miss)
			}
			if op.RequestBody != nil {
				checkContent(op.RequestBody.Value.Content, where+" request body", miss)
			}
			for _, status := range slices.Sorted(maps.Keys(op.Responses.Map())) {
				checkContent(op.Responses.Value(status).Value.Content, where+" response "+status, miss)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(doc.Components.Parameters)) {
		checkParameter(doc.Components.Parameters[name].Value, "#/components/parameters/"+name, miss)
	}
	for _, name := range slices.Sorted(maps.Keys(doc.Components.Schemas)) {
		checkFields(doc.Components.Schemas[name].Value, "#/components/schemas/"+name, miss)
	}
	return missing, nil
}

type missFunc func(origin *openapi3.Origin, where, what string)

func checkParameter(p *openapi3.Parameter, where string, miss missFunc) {
	if strings.TrimSpace(p.Description) == "" {
		miss(p.Origin, where, "no description")
	}
	if p.Example == nil && !hasField(p.Origin, "example") && len(p.Examples) == 0 && (p.Schema == nil || !hasExample(p.Schema)) {
		miss(p.Origin, where, "no example")
	}
}

func checkContent(content openapi3.Content, where string, miss missFunc) {
	for _, mediaType := range slices.Sorted(maps.Keys(content)) {
		mt := content[mediaType]
		if mt.Example == nil && !hasField(mt.Origin, "example") && len(mt.Examples) == 0 && (mt.Schema == nil || !hasExample(mt.Schema)) {
			miss(mt.Origin, where+" "+mediaType, "no example")
		}
	}
}

// checkFields walks the properties of a schema (and of the inline schemas within it; referenced ones
// are walked as components).
func checkFields(s *openapi3.Schema, where string, miss missFunc) {
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		prop := s.Properties[name]
		field := where + "/properties/" + name
		if strings.TrimSpace(prop.Value.Description) == "" {
			miss(prop.Value.Origin, field, "no description")
		}
		if !hasExample(prop) {
			miss(prop.Value.Origin, field, "no example")
		}
		if prop.Ref == "" {
			checkFields(prop.Value, field, miss)
		}
	}
	if s.Items != nil && s.Items.Ref == "" {
		items := s.Items.Value
		if strings.TrimSpace(items.Description) == "" {
			miss(items.Origin, where+"/items", "no description")
		}
		if !hasExample(s.Items) {
			miss(items.Origin, where+"/items", "no example")
		}
		checkFields(items, where+"/items", miss)
	}
}

// hasExample reports whether a schema has an example of its own, or one composed from its parts.
func hasExample(ref *openapi3.SchemaRef) bool {
	s := ref.Value
	switch {
	case s == nil:
		return false
	case s.Example != nil || hasField(s.Origin, "example"):
		return true
	case len(s.AllOf) == 1 && len(s.Properties) == 0:
		return hasExample(s.AllOf[0])
	case len(s.Properties) > 0:
		for _, p := range s.Properties {
			if !hasExample(p) {
				return false
			}
		}
		return true
	case s.Items != nil:
		return hasExample(s.Items)
	}
	return false
}

func hasField(o *openapi3.Origin, name string) bool {
	if o == nil {
		return false
	}
	_, ok := o.Fields.Lookup(name)
	return ok
}
