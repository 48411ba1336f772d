package upstream

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// side is one of the two documents, with the way to name its component schemas in the spec's
// terms (the published document names some schemas differently).
type side struct {
	doc  *Document
	name func(string) string
	docs bool // compare documentation too
}

// shape is a schema normalised for comparison. Spellings that mean the same give the same
// shape:
//
//   - nullability, written as `nullable: true` (OpenAPI 3.0, and in the published 3.1 document),
//     as "null" in a list of types, as a null member of anyOf or oneOf, as null in an enum, or as
//     an allOf member that says only `nullable: true`, is the leaf `nullable: true`;
//   - allOf is merged into one schema. A reference with only annotations beside it (nullable,
//     deprecated, readOnly, writeOnly, default, extensions, a type the named schema has too) stays
//     a reference, whether written `$ref` or `allOf: [$ref, {...}]`, so that the schema it names is
//     compared once, under its own name; with constraints beside it, it is written out in place;
//   - anyOf or oneOf with one member left (after null) is that member;
//   - `const: v` is `enum: [v]`; a schema with properties and no type has type object;
//   - `minimum: n` with `exclusiveMinimum: true` (3.0) is `exclusiveMinimum: n` (3.1), and the
//     same for the maximum;
//   - documentation (description, title, examples, externalDocs, xml) and extensions other than
//     oapi-codegen's are left out, unless documentation is asked for.
type shape struct {
	ref       string // the component schema referred to, in the spec's names, or ""
	published string // the same component under the document's own name
	n         *node  // the constraints: beside the reference when ref is set
}

// maxDepth bounds how deep a schema is followed: a document whose schemas nest deeper
// (through YAML aliases, say) is reported rather than followed for ever.
const maxDepth = 64

// annotations are the leaves that may stand beside a reference without making the schema more
// than the reference.
var annotations = map[string]bool{
	"nullable": true, "deprecated": true, "readOnly": true, "writeOnly": true, "default": true,
	"description": true, "title": true, "type": true,
}

// shape normalises a schema.
func (sd side) shape(sr *openapi3.SchemaRef, depth int) shape {
	if sr == nil {
		return shape{n: newNode()}
	}
	if name, ok := schemaName(sr.Ref); ok {
		return sd.reference(sr, name, depth)
	}
	if sr.Value == nil {
		n := newNode()
		n.leaves["$ref"] = sr.Ref + " (unresolved)"
		return shape{n: n}
	}
	if depth > maxDepth {
		n := newNode()
		n.leaves["depth"] = "more than " + strconv.Itoa(maxDepth) + " levels"
		return shape{n: n}
	}
	return sd.shapeOf(sr.Value, depth)
}

// reference normalises a reference to a component schema. In OpenAPI 3.1 keywords may stand
// beside a $ref, and kin-openapi applies them to a copy of the named schema: annotations
// (nullable, description, ...) leave it a reference with those beside it; anything else makes it
// a schema of its own, compared in place.
func (sd side) reference(sr *openapi3.SchemaRef, published string, depth int) shape {
	ref := shape{ref: sd.name(published), published: published, n: newNode()}
	component := sd.doc.schema(published)
	if component == nil || sr.Value == nil || sr.Value == component.Value || depth > maxDepth {
		return ref
	}
	full := sd.shapeOf(sr.Value, depth+1)
	base := sd.shapeOf(component.Value, depth+1)
	if full.ref != base.ref || len(full.n.children) != len(base.n.children) {
		return full
	}
	for key, c := range full.n.children {
		if base.n.children[key] != c {
			return full
		}
	}
	for key, v := range full.n.leaves {
		if base.n.leaves[key] == v {
			continue
		}
		if !annotations[key] && !strings.HasPrefix(key, "x-") {
			return full
		}
		ref.n.leaves[key] = v
	}
	for key := range base.n.leaves {
		if _, ok := full.n.leaves[key]; !ok {
			return full
		}
	}
	return ref
}

// component returns the normalised content of a component schema, by its name in the document.
func (sd side) component(published string, depth int) shape {
	sr := sd.doc.schema(published)
	if sr == nil {
		n := newNode()
		n.leaves["$ref"] = "#/components/schemas/" + published + " (missing)"
		return shape{n: n}
	}
	return sd.shape(&openapi3.SchemaRef{Value: sr.Value}, depth+1)
}

// inline replaces a reference by the schema it names, with the reference's siblings (such as
// `nullable`) over the named schema's own.
func (sd side) inline(s shape, depth int) shape {
	for range 16 {
		if s.ref == "" {
			return s
		}
		target := sd.component(s.published, depth)
		merged := target.n.clone()
		merged.mergeOver(s.n)
		s = shape{ref: target.ref, published: target.published, n: merged}
	}
	return s
}

// shapeOf normalises a schema that is not a reference.
func (sd side) shapeOf(s *openapi3.Schema, depth int) shape {
	n := newNode()
	nullable := s.Nullable
	if s.Always != nil {
		n.leaves["always"] = strconv.FormatBool(*s.Always)
	}
	if s.Type != nil {
		var types []string
		for _, t := range *s.Type {
			if t == "null" {
				nullable = true
			} else {
				types = append(types, t)
			}
		}
		slices.Sort(types)
		if types = slices.Compact(types); len(types) > 0 {
			n.leaves["type"] = strings.Join(types, "|")
		}
	}
	values := s.Enum
	if s.Const != nil && len(values) == 0 {
		values = []any{s.Const}
	}
	for _, v := range values {
		if v == nil {
			nullable = true
			continue
		}
		n.leaves["enum."+format(v)] = Present
	}
	sd.addScalars(n, s)
	sd.addStructure(n, s)
	n.addExtensions(s.Extensions)
	if sd.docs {
		addText(n, "description", s.Description)
		addText(n, "title", s.Title)
	}

	// The members to merge: allOf's, and the one member anyOf or oneOf has left once null is
	// taken out.
	members := slices.Clone(s.AllOf)
	for _, key := range []string{"anyOf", "oneOf"} {
		list := s.AnyOf
		if key == "oneOf" {
			list = s.OneOf
		}
		var kept openapi3.SchemaRefs
		for _, m := range list {
			if sd.isNull(m, depth) {
				nullable = true
			} else {
				kept = append(kept, m)
			}
		}
		if len(kept) == 1 {
			members = append(members, kept[0])
			continue
		}
		for i, m := range kept {
			n.children[key+"."+strconv.Itoa(i)] = child{schema: m}
		}
	}
	out := sd.merge(n, members, depth)
	if nullable {
		out.n.leaves["nullable"] = "true"
	}
	if out.ref == "" {
		inferType(out.n)
	}
	return out
}

// merge merges the members of an allOf into the schema around them (host).
func (sd side) merge(host *node, members openapi3.SchemaRefs, depth int) shape {
	shapes := make([]shape, len(members))
	var refs []int
	onlyAnnotations := host.onlyAnnotations()
	for i, m := range members {
		shapes[i] = sd.shape(m, depth+1)
		if shapes[i].ref != "" {
			refs = append(refs, i)
		} else if !shapes[i].n.onlyAnnotations() {
			onlyAnnotations = false
		}
	}
	out := shape{n: host}
	if len(refs) == 1 && onlyAnnotations {
		kept := shapes[refs[0]]
		out.ref, out.published = kept.ref, kept.published
	}
	for _, m := range shapes {
		if m.ref != "" && m.ref == out.ref {
			out.n.mergeOver(m.n)
			continue
		}
		if m.ref != "" {
			m = sd.inline(m, depth+1)
		}
		out.n.mergeUnder(m.n)
	}
	if out.ref != "" {
		// A type beside a reference restates the named schema's (linters ask for it beside
		// nullable); it is dropped when it is the same.
		if t, ok := out.n.leaves["type"]; ok && sd.component(out.published, depth).n.leaves["type"] == t {
			delete(out.n.leaves, "type")
		}
	}
	return out
}

// isNull reports whether a schema allows only null.
func (sd side) isNull(sr *openapi3.SchemaRef, depth int) bool {
	s := sd.shape(sr, depth+1)
	if s.ref != "" || len(s.n.children) > 0 {
		return false
	}
	for key := range s.n.leaves {
		if key != "nullable" && !annotations[key] {
			return false
		}
	}
	return s.n.leaves["nullable"] == "true" && s.n.leaves["type"] == ""
}

// inferType gives an object schema written without a type the type object, and an array one
// the type array: what they describe is the same.
func inferType(n *node) {
	if _, ok := n.leaves["type"]; ok {
		return
	}
	for key := range n.children {
		if strings.HasPrefix(key, "properties.") || key == "additionalProperties" {
			n.leaves["type"] = "object"
			return
		}
		if key == "items" {
			n.leaves["type"] = "array"
			return
		}
	}
	for key := range n.leaves {
		if strings.HasPrefix(key, "required.") || key == "additionalProperties" {
			n.leaves["type"] = "object"
			return
		}
	}
}

// addScalars records the constraints that are single values.
func (sd side) addScalars(n *node, s *openapi3.Schema) {
	text := map[string]string{"format": s.Format, "pattern": s.Pattern,
		"contentMediaType": s.ContentMediaType, "contentEncoding": s.ContentEncoding}
	for key, v := range text {
		if v != "" {
			n.leaves[key] = v
		}
	}
	flags := map[string]bool{"uniqueItems": s.UniqueItems, "readOnly": s.ReadOnly,
		"writeOnly": s.WriteOnly, "deprecated": s.Deprecated}
	for key, v := range flags {
		if v {
			n.leaves[key] = "true"
		}
	}
	counts := map[string]uint64{"minLength": s.MinLength, "minItems": s.MinItems, "minProperties": s.MinProps}
	for key, v := range counts {
		if v > 0 {
			n.leaves[key] = strconv.FormatUint(v, 10)
		}
	}
	limits := map[string]*uint64{"maxLength": s.MaxLength, "maxItems": s.MaxItems, "maxProperties": s.MaxProps,
		"minContains": s.MinContains, "maxContains": s.MaxContains}
	for key, v := range limits {
		if v != nil {
			n.leaves[key] = strconv.FormatUint(*v, 10)
		}
	}
	if s.MultipleOf != nil {
		n.leaves["multipleOf"] = format(*s.MultipleOf)
	}
	bound := func(limit *float64, exclusive openapi3.ExclusiveBound, key, exclusiveKey string) {
		switch {
		case exclusive.Value != nil:
			n.leaves[exclusiveKey] = format(*exclusive.Value)
			if limit != nil {
				n.leaves[key] = format(*limit)
			}
		case exclusive.Bool != nil && *exclusive.Bool && limit != nil:
			n.leaves[exclusiveKey] = format(*limit)
		case limit != nil:
			n.leaves[key] = format(*limit)
		}
	}
	bound(s.Min, s.ExclusiveMin, "minimum", "exclusiveMinimum")
	bound(s.Max, s.ExclusiveMax, "maximum", "exclusiveMaximum")
	if s.Default != nil {
		n.leaves["default"] = format(s.Default)
	}
	for key, required := range s.DependentRequired {
		n.leaves["dependentRequired."+key] = strings.Join(required, ",")
	}
	if d := s.Discriminator; d != nil {
		n.leaves["discriminator.propertyName"] = d.PropertyName
		for value, ref := range d.Mapping {
			target := ref.Ref
			if name, ok := schemaName(target); ok {
				target = sd.name(name)
			}
			n.leaves["discriminator.mapping."+value] = target
		}
	}
}

// addStructure records the schemas below this one, and what is required.
func (sd side) addStructure(n *node, s *openapi3.Schema) {
	for _, name := range s.Required {
		n.leaves["required."+name] = Present
	}
	for name, p := range s.Properties {
		n.children["properties."+name] = child{schema: p}
	}
	if has := s.AdditionalProperties.Has; has != nil && !*has {
		n.leaves["additionalProperties"] = "false"
	}
	if ap := s.AdditionalProperties.Schema; ap != nil {
		n.children["additionalProperties"] = child{schema: ap}
	}
	single := map[string]*openapi3.SchemaRef{"items": s.Items, "not": s.Not, "contains": s.Contains,
		"propertyNames": s.PropertyNames, "if": s.If, "then": s.Then, "else": s.Else, "contentSchema": s.ContentSchema,
		"unevaluatedItems": s.UnevaluatedItems.Schema, "unevaluatedProperties": s.UnevaluatedProperties.Schema}
	for key, sub := range single {
		if sub != nil {
			n.children[key] = child{schema: sub}
		}
	}
	for key, has := range map[string]*bool{"unevaluatedItems": s.UnevaluatedItems.Has, "unevaluatedProperties": s.UnevaluatedProperties.Has} {
		if has != nil && !*has {
			n.leaves[key] = "false"
		}
	}
	for i, m := range s.PrefixItems {
		n.children["prefixItems."+strconv.Itoa(i)] = child{schema: m}
	}
	for key, m := range map[string]openapi3.Schemas{"patternProperties": s.PatternProperties, "dependentSchemas": s.DependentSchemas} {
		for name, sub := range m {
			n.children[key+"."+name] = child{schema: sub}
		}
	}
}

// addText records documentation text, when it is compared, on one line: text reflowed reads
// the same.
func addText(n *node, key, text string) {
	if text = strings.Join(strings.Fields(text), " "); text != "" {
		n.leaves[key] = text
	}
}

// onlyAnnotations reports whether a schema says nothing that constrains a value beyond
// nullability and annotations: beside a reference, it leaves the reference a reference.
func (n *node) onlyAnnotations() bool {
	if len(n.children) > 0 {
		return false
	}
	for key := range n.leaves {
		if !annotations[key] && !strings.HasPrefix(key, "x-") {
			return false
		}
	}
	return true
}

func (n *node) clone() *node {
	return &node{leaves: maps.Clone(n.leaves), children: maps.Clone(n.children)}
}

// mergeOver merges top into n, top's leaves winning; a schema below both is the allOf of both.
func (n *node) mergeOver(top *node) {
	for key, v := range top.leaves {
		n.leaves[key] = v
	}
	n.mergeChildren(top)
}

// mergeUnder merges more into n, n's leaves winning, except that two different values are
// both kept ("a & b"), since allOf requires both.
func (n *node) mergeUnder(more *node) {
	for key, v := range more.leaves {
		old, ok := n.leaves[key]
		switch {
		case !ok:
			n.leaves[key] = v
		case old != v && key == "nullable":
			n.leaves[key] = "true"
		case old != v:
			n.leaves[key] = old + " & " + v
		}
	}
	n.mergeChildren(more)
}

func (n *node) mergeChildren(more *node) {
	for key, c := range more.children {
		old, ok := n.children[key]
		if !ok {
			n.children[key] = c
			continue
		}
		if old.schema != nil && c.schema != nil {
			n.children[key] = child{schema: &openapi3.SchemaRef{Value: &openapi3.Schema{AllOf: openapi3.SchemaRefs{old.schema, c.schema}}}}
		}
	}
}
