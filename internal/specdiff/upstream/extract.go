package upstream

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Extract returns, as YAML, the part of the published document that Compare reads: the
// operations matching those of the spec and the components they reach, under the published
// names. It is small enough to read, and is itself an OpenAPI document (to give to oasdiff, say).
func Extract(ours, upstream *Document, names Names) ([]byte, error) {
	paths := map[string]any{}
	var reached []any
	for _, op := range ours.operations() {
		theirs, ok := upstream.operationAt(op.Method, op.Path)
		if !ok {
			if theirs, ok = upstream.operationByID(names.upstreamOperation(op.ID)); !ok {
				continue
			}
		}
		item, _ := paths[theirs.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			if params, ok := theirs.pathItem["parameters"]; ok {
				item["parameters"] = params
				reached = append(reached, params)
			}
			paths[theirs.Path] = item
		}
		item[theirs.Method] = theirs.raw
		reached = append(reached, theirs.raw)
	}
	security, _ := upstream.root["security"].([]any)
	for _, requirement := range security {
		r, _ := requirement.(map[string]any)
		for name := range r {
			reached = append(reached, map[string]any{"$ref": "#/components/securitySchemes/" + name})
		}
	}

	components := map[string]any{}
	seen := map[string]bool{}
	for len(reached) > 0 {
		v := reached[0]
		reached = reached[1:]
		for _, ref := range refs(v) {
			if seen[ref] {
				continue
			}
			seen[ref] = true
			target, err := upstream.pointer(ref)
			if err != nil {
				return nil, fmt.Errorf("extract: %w", err)
			}
			section, name, ok := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/")
			if !ok || !strings.HasPrefix(ref, "#/components/") {
				continue
			}
			m, _ := components[section].(map[string]any)
			if m == nil {
				m = map[string]any{}
				components[section] = m
			}
			m[name] = target
			reached = append(reached, target)
		}
	}

	doc := map[string]any{"openapi": upstream.root["openapi"], "info": upstream.root["info"], "paths": paths}
	for _, key := range []string{"servers", "security"} {
		if v, ok := upstream.root[key]; ok {
			doc[key] = v
		}
	}
	if len(components) > 0 {
		doc["components"] = components
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	return out, nil
}

// refs returns every $ref found in a value, in a stable order.
func refs(v any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				out = append(out, ref)
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	slices.Sort(out)
	return slices.Compact(out)
}
