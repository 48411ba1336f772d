package uploads_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/uploadkit/uploads/conformance"
)

// mutation is one way of breaking a valid body: the value at Field is changed so that the spec must
// reject the body there, for one of Reasons.
type mutation struct {
	Name  string
	Field string
	// Reasons are the reasons the spec may give, any one of them.
	Reasons []string
	apply   func(root any)
}

// TestRecordedMutations breaks every recorded body that an exchange uses as valid, one field at a
// time: each required key is dropped, each known key gets a value of the wrong type, null where the
// spec does not allow it, and an unlisted value where it has an enum; where the schema allows no
// other keys, an unknown key is added. The spec must reject every mutation at exactly that field.
func TestRecordedMutations(t *testing.T) {
	v := newValidator(t)
	total := 0
	seen := map[string]bool{}
	for _, path := range exchangeFiles(t, exchangeDir) {
		ex := loadExchange(t, path)
		type target struct {
			side   string
			file   string
			schema *openapi3.Schema
		}
		route, _, err := v.Route(buildRequest(t, ex))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var targets []target
		if ex.Request.BodyFile != "" && (ex.Expect == nil || ex.Expect.Reject != "request") {
			rb := route.Operation.RequestBody.Value
			targets = append(targets, target{"request", ex.Request.BodyFile, rb.Content.Get("application/json").Schema.Value})
		}
		if ex.Response != nil && ex.Response.BodyFile != "" && (ex.Expect == nil || ex.Expect.Reject != "response") {
			resp := route.Operation.Responses.Status(ex.Response.Status).Value
			targets = append(targets, target{"response", ex.Response.BodyFile, resp.Content.Get("application/json").Schema.Value})
		}
		for _, tg := range targets {
			if !strings.HasPrefix(tg.file, "../recorded/") || seen[tg.side+" "+tg.file] {
				continue
			}
			seen[tg.side+" "+tg.file] = true
			m := &conformance.Message{BodyFile: tg.file}
			original, _, err := m.ReadBody(filepath.Dir(path))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			muts := mutations(tg.schema, decode(t, original), nil)
			if len(muts) == 0 {
				t.Errorf("%s: no mutation of %s", path, tg.file)
			}
			for _, mu := range muts {
				total++
				name := fmt.Sprintf("%s/%s", strings.TrimSuffix(filepath.Base(tg.file), ".json"), mu.Name)
				t.Run(name, func(t *testing.T) {
					root := decode(t, original)
					mu.apply(root)
					body, err := json.Marshal(root)
					if err != nil {
						t.Fatal(err)
					}
					req := buildRequest(t, ex)
					var got []issue
					if tg.side == "request" {
						req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
						got = issues(v.ValidateRequest(req))
					} else {
						got = issues(v.ValidateResponse(req, ex.Response.Status, ex.ResponseHeader(), body))
					}
					checkMutation(t, tg.file, tg.side, mu, got)
				})
			}
		}
	}
	if total == 0 {
		t.Fatal("no recorded body was mutated")
	}
}

// checkMutation requires the spec to reject the mutated body at the mutated field, for the reason
// the mutation is about, and nowhere else.
func checkMutation(t *testing.T, file, side string, mu mutation, got []issue) {
	t.Helper()
	if len(got) == 0 {
		t.Errorf("%s, %s: the spec accepts the %s; it must reject %s for %q", file, mu.Name, side, mu.Field, mu.Reasons)
		return
	}
	found := false
	for _, i := range got {
		if i.In != "body" || i.Field != mu.Field {
			t.Errorf("%s, %s: the %s is rejected elsewhere than at %s: %s", file, mu.Name, side, mu.Field, i)
		}
		found = found || slices.ContainsFunc(mu.Reasons, func(r string) bool { return strings.Contains(i.Reason, r) })
	}
	if !found {
		t.Errorf("%s, %s: the %s is rejected at %s, but not for %q:\n%s", file, mu.Name, side, mu.Field, mu.Reasons, list(got))
	}
}

func decode(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

const notListed = "value is not one of the allowed values"

// mutations lists the ways to break the object at path within a body that is valid for schema.
func mutations(schema *openapi3.Schema, root any, path []string) []mutation {
	obj, ok := at(root, path).(map[string]any)
	if !ok {
		return nil
	}
	props, required, closed := objectShape(schema)
	var out []mutation
	for _, name := range slices.Sorted(maps.Keys(props)) {
		value, present := obj[name]
		if !present {
			continue
		}
		prop := props[name].Value
		field := append(slices.Clone(path), name)
		ptr := "/" + strings.Join(field, "/")
		set := func(v any) func(any) {
			return func(root any) { at(root, path).(map[string]any)[name] = v }
		}
		// kin-openapi checks an enum before the type, so a value of the wrong type (or null) in an
		// enum field is refused as an unlisted value.
		because := func(reason string) []string {
			if len(prop.Enum) > 0 {
				return []string{reason, notListed}
			}
			return []string{reason}
		}
		if slices.Contains(required, name) {
			out = append(out, mutation{"drop" + ptr, ptr, []string{fmt.Sprintf("property %q is missing", name)},
				func(root any) { delete(at(root, path).(map[string]any), name) }})
		}
		if wrong, reason := wrongType(prop); reason != "" {
			out = append(out, mutation{"wrong-type" + ptr, ptr, because(reason), set(wrong)})
		}
		if !prop.Nullable && value != nil {
			out = append(out, mutation{"null" + ptr, ptr, because("Value is not nullable"), set(nil)})
		}
		if len(prop.Enum) > 0 {
			out = append(out, mutation{"unlisted" + ptr, ptr, []string{notListed}, set("world_domination")})
		}
		if value != nil {
			out = append(out, mutations(prop, root, field)...)
		}
	}
	if closed {
		ptr := "/" + strings.Join(append(slices.Clone(path), "unexpected_key"), "/")
		out = append(out, mutation{"add" + ptr, ptr, []string{`property "unexpected_key" is unsupported`},
			func(root any) { at(root, path).(map[string]any)["unexpected_key"] = "x" }})
	}
	return out
}

// objectShape gives the properties and required keys of an object schema, looking through an
// allOf of one schema (as Upload.file uses to be nullable), and whether other keys are refused.
func objectShape(s *openapi3.Schema) (openapi3.Schemas, []string, bool) {
	if len(s.Properties) == 0 && len(s.AllOf) == 1 {
		return objectShape(s.AllOf[0].Value)
	}
	closed := s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has
	return s.Properties, s.Required, closed
}

// wrongType returns a value of another JSON type than the schema's, and the reason the spec must give.
func wrongType(s *openapi3.Schema) (any, string) {
	switch {
	case s.Type.Is(openapi3.TypeString):
		return json.Number("12345"), "value must be a string"
	case s.Type.Is(openapi3.TypeInteger):
		return "12", "value must be an integer"
	case s.Type.Is(openapi3.TypeObject):
		return "x", "value must be an object"
	case s.Type.Is(openapi3.TypeArray):
		return "x", "value must be an array"
	case s.Type.Is(openapi3.TypeBoolean):
		return "x", "value must be a boolean"
	case s.Type.Is(openapi3.TypeNumber):
		return "x", "value must be a number"
	}
	return nil, ""
}

func at(root any, path []string) any {
	for _, k := range path {
		m, ok := root.(map[string]any)
		if !ok {
			return nil
		}
		root = m[k]
	}
	return root
}
