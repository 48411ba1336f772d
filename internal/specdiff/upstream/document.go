package upstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Document is an OpenAPI document held as plain maps, slices and scalars, as decoded from YAML
// or JSON. Plain data, rather than a typed model, takes any document the published one may
// become (OpenAPI 3.0 or 3.1) without failing on parts this package does not look at.
type Document struct {
	root map[string]any
}

// Parse decodes an OpenAPI document written in JSON or YAML.
func Parse(data []byte) (*Document, error) {
	var raw any
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '{' {
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("decode JSON: %w", err)
		}
	} else if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("decode YAML: %w", err)
	}
	root, ok := normalize(raw).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("decode: the document is not a mapping")
	}
	if _, ok := root["paths"].(map[string]any); !ok {
		return nil, fmt.Errorf("decode: the document has no paths")
	}
	return &Document{root: root}, nil
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

// resolve follows a local $ref ("#/components/...") until it reaches a value that is not a
// reference. Other values are returned as they are.
func (d *Document) resolve(v any) (any, error) {
	for range 32 {
		m, ok := v.(map[string]any)
		if !ok {
			return v, nil
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v, nil
		}
		target, err := d.pointer(ref)
		if err != nil {
			return nil, err
		}
		v = target
	}
	return nil, fmt.Errorf("resolve: references nest too deeply")
}

// pointer returns the value a local reference names.
func (d *Document) pointer(ref string) (any, error) {
	path, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("resolve %q: only references inside the document are supported", ref)
	}
	var v any = d.root
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

// schema returns the component schema with this name, or nil.
func (d *Document) schema(name string) any {
	return d.components("schemas")[name]
}

// components returns one section of the document's components, such as "schemas".
func (d *Document) components(section string) map[string]any {
	components, _ := d.root["components"].(map[string]any)
	m, _ := components[section].(map[string]any)
	return m
}

// schemaName returns the name of the component schema a $ref names, if it names one.
func schemaName(ref string) (string, bool) {
	name, ok := strings.CutPrefix(ref, "#/components/schemas/")
	return name, ok && !strings.Contains(name, "/")
}

// methods are the keys of a path item that are operations.
var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// Operation is one operation of a document: where it is and what it is called.
type Operation struct {
	ID     string
	Method string // lower case, as in the document
	Path   string

	raw      map[string]any
	pathItem map[string]any
}

// String returns the method and path, as in "POST /uploads".
func (o Operation) String() string {
	return strings.ToUpper(o.Method) + " " + o.Path
}

// operations returns every operation of the document, in no particular order.
func (d *Document) operations() []Operation {
	var ops []Operation
	paths, _ := d.root["paths"].(map[string]any)
	for path, item := range paths {
		pathItem, _ := item.(map[string]any)
		for _, method := range methods {
			op, ok := pathItem[method].(map[string]any)
			if !ok {
				continue
			}
			id, _ := op["operationId"].(string)
			ops = append(ops, Operation{ID: id, Method: method, Path: path, raw: op, pathItem: pathItem})
		}
	}
	return ops
}

// operationAt returns the operation at a method and path.
func (d *Document) operationAt(method, path string) (Operation, bool) {
	paths, _ := d.root["paths"].(map[string]any)
	pathItem, _ := paths[path].(map[string]any)
	op, ok := pathItem[method].(map[string]any)
	if !ok {
		return Operation{}, false
	}
	id, _ := op["operationId"].(string)
	return Operation{ID: id, Method: method, Path: path, raw: op, pathItem: pathItem}, true
}

// operationByID returns the operation with this operationId.
func (d *Document) operationByID(id string) (Operation, bool) {
	for _, op := range d.operations() {
		if op.ID == id {
			return op, true
		}
	}
	return Operation{}, false
}
