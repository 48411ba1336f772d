package upstream

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Extract returns, as YAML, the part of the published document that Compare reads: the
// operations matching those of the spec and the components they reach, under the published
// names and as published (not re-encoded by a loader). It is small enough to read, and is itself
// an OpenAPI document (to give to oasdiff, say).
func Extract(ours, upstream *Document, names Names) ([]byte, error) {
	var raw any
	if err := yaml.Unmarshal(upstream.data, &raw); err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	root, _ := normalize(raw).(map[string]any)
	allPaths, _ := root["paths"].(map[string]any)
	paths := map[string]any{}
	var reached []any
	for _, op := range ours.operations() {
		theirs, ok := match(op, upstream, names)
		if !ok {
			continue
		}
		source, _ := allPaths[theirs.Path].(map[string]any)
		item, _ := paths[theirs.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			if params, ok := source["parameters"]; ok {
				item["parameters"] = params
				reached = append(reached, params)
			}
			paths[theirs.Path] = item
		}
		method := strings.ToLower(theirs.Method)
		item[method] = source[method]
		reached = append(reached, source[method])
	}
	security, _ := root["security"].([]any)
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
			target, err := pointer(root, ref)
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

	doc := map[string]any{"openapi": root["openapi"], "info": root["info"], "paths": paths}
	for _, key := range []string{"servers", "security"} {
		if v, ok := root[key]; ok {
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

// normalize turns the maps YAML decodes with non-string keys (such as unquoted status codes)
// into maps with string keys, throughout.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = normalize(e)
		}
		return v
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[fmt.Sprint(k)] = normalize(e)
		}
		return out
	case []any:
		for i, e := range v {
			v[i] = normalize(e)
		}
		return v
	default:
		return v
	}
}

// pointer returns the value a local reference names.
func pointer(root map[string]any, ref string) (any, error) {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("resolve %q: only references inside the document are supported", ref)
	}
	var v any = root
	for _, token := range strings.Split(path, "/") {
		token = strings.ReplaceAll(strings.ReplaceAll(token, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resolve %q: %q is not inside a mapping", ref, token)
		}
		if v, ok = m[token]; !ok {
			return nil, fmt.Errorf("resolve %q: no %q", ref, token)
		}
	}
	return v, nil
}
