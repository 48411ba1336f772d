package upstream

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// side is one of the two documents, with the way to name its component schemas in the spec's
// terms (the published document names some schemas differently).
type side struct {
	doc  *Document
	name func(string) string
}

// normalizeSchema returns a copy of a schema in which spellings that mean the same are made
// alike, so that they compare equal:
//
//   - nullability, written as `nullable: true` (OpenAPI 3.0), as "null" in a list of types, as a
//     null member of anyOf or oneOf, or as null in an enum (OpenAPI 3.1), becomes `nullable: true`;
//   - allOf, anyOf or oneOf with one member left is replaced by that member (`allOf: [$ref]` is
//     how a reference is given siblings in OpenAPI 3.0);
//   - `const: v` becomes `enum: [v]`.
func normalizeSchema(raw any) map[string]any {
	m, ok := raw.(map[string]any)
	if !ok {
		return map[string]any{"schema": raw}
	}
	s := maps.Clone(m)
	nullable, _ := s["nullable"].(bool)
	delete(s, "nullable")

	switch t := s["type"].(type) {
	case []any:
		var types []string
		for _, e := range t {
			if name := fmt.Sprint(e); name == "null" {
				nullable = true
			} else {
				types = append(types, name)
			}
		}
		slices.Sort(types)
		if len(types) == 0 {
			delete(s, "type")
		} else {
			s["type"] = strings.Join(types, "|")
		}
	case string:
		if t == "null" {
			delete(s, "type")
			nullable = true
		}
	}
	if c, ok := s["const"]; ok {
		if _, has := s["enum"]; !has {
			s["enum"] = []any{c}
		}
		delete(s, "const")
	}
	if values, ok := s["enum"].([]any); ok {
		kept := slices.DeleteFunc(slices.Clone(values), func(v any) bool { return v == nil })
		if len(kept) < len(values) {
			nullable = true
			s["enum"] = kept
		}
	}
	for _, key := range []string{"anyOf", "oneOf", "allOf"} {
		members, ok := s[key].([]any)
		if !ok {
			continue
		}
		var kept []any
		for _, member := range members {
			if key != "allOf" && isNull(member) {
				nullable = true
				continue
			}
			kept = append(kept, member)
		}
		switch len(kept) {
		case 0:
			delete(s, key)
		case 1:
			delete(s, key)
			for k, v := range normalizeSchema(kept[0]) {
				if k == "nullable" {
					nullable = true
				} else if _, has := s[k]; !has {
					s[k] = v
				}
			}
		default:
			s[key] = kept
		}
	}
	if nullable {
		s["nullable"] = true
	}
	return s
}

// isNull reports whether a schema allows only null.
func isNull(raw any) bool {
	m, ok := raw.(map[string]any)
	if !ok {
		return false
	}
	s := normalizeSchema(m)
	for key := range s {
		if key != "nullable" && !ignored(key) {
			return false
		}
	}
	return s["nullable"] == true
}

// refName returns the name, in the spec's terms, of the component schema a schema refers to.
func (sd side) refName(s map[string]any) string {
	ref, _ := s["$ref"].(string)
	if name, ok := schemaName(ref); ok {
		return sd.name(name)
	}
	return ""
}

// inline replaces a reference by the schema it names, keeping the reference's siblings (such
// as `nullable`) over the named schema's own keys.
func (sd side) inline(s map[string]any) map[string]any {
	for range 16 {
		ref, _ := s["$ref"].(string)
		name, ok := schemaName(ref)
		if !ok {
			return s
		}
		target := sd.doc.schema(name)
		if target == nil {
			return s
		}
		merged := normalizeSchema(target)
		for k, v := range s {
			if k != "$ref" {
				merged[k] = v
			}
		}
		s = merged
	}
	return s
}

// dropRedundantType removes a `type` given beside a reference when the named schema has the
// same type: it restates the reference (linters ask for it beside `nullable`).
func (sd side) dropRedundantType(s map[string]any) {
	ref, _ := s["$ref"].(string)
	name, ok := schemaName(ref)
	if !ok {
		return
	}
	if target := sd.doc.schema(name); target != nil && normalizeSchema(target)["type"] == s["type"] {
		delete(s, "type")
	}
}

// constraints are the schema keys compared by value. Those in flags are left out when false,
// their default.
var (
	constraints = []string{
		"type", "format", "nullable", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
		"minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "multipleOf",
		"minProperties", "maxProperties", "default", "readOnly", "writeOnly", "deprecated",
		"contentMediaType", "contentEncoding",
	}
	flags = map[string]bool{"nullable": true, "uniqueItems": true, "readOnly": true, "writeOnly": true, "deprecated": true}
)

// schemaNode lays out one normalized schema for comparison.
func (sd side) schemaNode(s map[string]any) *node {
	n := newNode()
	handled := []string{"$ref", "enum", "required", "properties", "items", "prefixItems",
		"additionalProperties", "allOf", "anyOf", "oneOf", "not", "discriminator"}
	if ref, ok := s["$ref"].(string); ok {
		if name := sd.refName(s); name != "" {
			n.leaves["$ref"] = name
		} else {
			n.leaves["$ref"] = ref
		}
	}
	for _, key := range constraints {
		v, ok := s[key]
		if !ok || (flags[key] && v == false) {
			continue
		}
		n.leaves[key] = format(v)
	}
	handled = append(handled, constraints...)
	if values, ok := s["enum"].([]any); ok {
		for _, v := range values {
			n.leaves["enum."+format(v)] = Present
		}
	}
	if required, ok := s["required"].([]any); ok {
		for _, name := range required {
			n.leaves["required."+format(name)] = Present
		}
	}
	if properties, ok := s["properties"].(map[string]any); ok {
		for name, p := range properties {
			n.children["properties."+name] = child{schema: p}
		}
	}
	switch ap := s["additionalProperties"].(type) {
	case bool:
		if !ap {
			n.leaves["additionalProperties"] = "false"
		}
	case map[string]any:
		n.children["additionalProperties"] = child{schema: ap}
	}
	for _, key := range []string{"items", "not"} {
		if sub, ok := s[key].(map[string]any); ok {
			n.children[key] = child{schema: sub}
		}
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf", "prefixItems"} {
		members, _ := s[key].([]any)
		for i, member := range members {
			n.children[fmt.Sprintf("%s.%d", key, i)] = child{schema: member}
		}
	}
	if d, ok := s["discriminator"].(map[string]any); ok {
		if name, ok := d["propertyName"]; ok {
			n.leaves["discriminator.propertyName"] = format(name)
		}
		mapping, _ := d["mapping"].(map[string]any)
		for value, ref := range mapping {
			target := format(ref)
			if name, ok := schemaName(target); ok {
				target = sd.name(name)
			}
			n.leaves["discriminator.mapping."+value] = target
		}
	}
	n.addRest(s, handled...)
	return n
}
