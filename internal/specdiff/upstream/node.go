package upstream

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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
	schema any
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

// addRest records, as leaves, the keys of m that no rule handles and that are not ignored, so
// that nothing new in a document goes unreported.
func (n *node) addRest(m map[string]any, handled ...string) {
	for key, v := range m {
		if slices.Contains(handled, key) || ignored(key) {
			continue
		}
		n.leaves[key] = format(v)
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
