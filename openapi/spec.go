// Package openapi embeds uploads.yaml, the hand-written OpenAPI document that is the single source of
// truth for this module, and loads it for validation.
package openapi

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// YAML is the OpenAPI document, byte for byte as it is in uploads.yaml.
//
//go:embed uploads.yaml
var YAML []byte

// Load parses the embedded document and validates it. Each call returns a fresh copy, so callers
// may change it (for example to drop the servers list) without affecting one another.
func Load(ctx context.Context) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	doc, err := loader.LoadFromData(YAML)
	if err != nil {
		return nil, fmt.Errorf("load openapi/uploads.yaml: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validate openapi/uploads.yaml: %w", err)
	}
	return doc, nil
}
