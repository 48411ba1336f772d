// Package upstream compares openapi/uploads.yaml with the official published OpenAPI document:
// it takes from the published document the operations the spec implements, with the schemas
// they reach, compares them with the spec structure by structure, and sorts the differences
// into those openapi/DIVERGENCES.md explains and those it does not.
//
// Documentation does not take part in the comparison: descriptions, summaries, titles,
// examples, tags and external docs are ignored, and so are extensions, except those that change
// the generated Go code (x-go-*, x-oapi-codegen-*, x-omitempty, x-order, x-enum-varnames).
package upstream
