package upstream

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// node is one level of a structure being compared: the scalar facts about it (leaves) and the
// structures below it (children). Keys are relative: "required", "enum.upload",
// "properties.file", "responses.200".
type node struct {
	leaves   map[string]string
	children map[string]child
}

// child is a structure below a node: a node, or a schema, which is compared by compareSchemas
// because a schema may be a reference.
type child struct {
	node   *node
	schema *openapi3.SchemaRef
}

func newNode() *node {
	return &node{leaves: map[string]string{}, children: map[string]child{}}
}

// The values of a difference for something that exists on one side only.
const (
	Present = "present"
	Absent  = "absent"
)

// documentation holds the keys that only document, and so are not compared.
var documentation = map[string]bool{
	"description": true, "summary": true, "title": true, "example": true, "examples": true,
	"externalDocs": true, "tags": true, "xml": true, "$comment": true,
}

// codegenExtension reports whether an extension changes the Go code oapi-codegen generates.
func codegenExtension(key string) bool {
	return strings.HasPrefix(key, "x-go-") || strings.HasPrefix(key, "x-oapi-codegen-") ||
		key == "x-omitempty" || key == "x-order" || key == "x-enum-varnames"
}

// ignored reports whether a key takes no part in the comparison.
func ignored(key string) bool {
	return documentation[key] || (strings.HasPrefix(key, "x-") && !codegenExtension(key))
}

// addExtensions records, as leaves, the extensions that take part in the comparison. kin-openapi
// keeps there, too, the keys of an object that OpenAPI does not define, so that something new
// in a document is reported rather than dropped.
func (n *node) addExtensions(extensions map[string]any) {
	for key, v := range extensions {
		if !ignored(key) {
			n.leaves[key] = format(v)
		}
	}
}

// format renders a value for a difference: scalars as they read, anything else as JSON.
func format(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int, int64, uint64:
		return fmt.Sprint(v)
	default:
		data, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(data)
	}
}

// sortedKeys returns the keys of both maps, sorted, each once.
func sortedKeys[V any](a, b map[string]V) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
