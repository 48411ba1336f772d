package upstream

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Document is an OpenAPI document (3.0 or 3.1) as kin-openapi loads it: every local $ref
// resolved, the reference kept beside the value it names.
type Document struct {
	t    *openapi3.T
	data []byte // the document's text, uncompressed, for Extract
}

// maxDocument bounds the uncompressed size of a document: the whole published document is
// about 3 MB.
const maxDocument = 256 << 20

// Parse loads an OpenAPI document written in YAML or JSON, gzipped or not. Every $ref must
// point inside the document.
func Parse(data []byte) (*Document, error) {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		data, err = io.ReadAll(io.LimitReader(zr, maxDocument+1))
		if err != nil {
			return nil, fmt.Errorf("decompress: %w", err)
		}
		if len(data) > maxDocument {
			return nil, fmt.Errorf("decompress: the document is larger than %d bytes", maxDocument)
		}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("load: the document is empty")
	}
	t, err := load(data)
	if err != nil {
		return nil, err
	}
	if t.OpenAPI == "" {
		return nil, errors.New("load: not an OpenAPI document (no openapi version)")
	}
	if t.Paths == nil || t.Paths.Len() == 0 {
		return nil, errors.New("load: the document has no paths")
	}
	return &Document{t: t, data: data}, nil
}

// Versions says which OpenAPI version the document is written in and which version of the API
// it describes, as in "OpenAPI 3.1.0, API version 2.3.0".
func (d *Document) Versions() string {
	api := "unknown"
	if d.t.Info != nil && d.t.Info.Version != "" {
		api = d.t.Info.Version
	}
	return "OpenAPI " + d.t.OpenAPI + ", API version " + api
}

// load loads a document with kin-openapi, references outside it refused. The document is
// whatever file the user saved, so a panic of the loader on some input is turned into an error
// naming it rather than a crash.
func load(data []byte) (t *openapi3.T, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("load: the OpenAPI loader failed on this document: %v", r)
		}
	}()
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	if t, err = loader.LoadFromData(data); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	return t, nil
}

// schema returns the component schema with this name, or nil.
func (d *Document) schema(name string) *openapi3.SchemaRef {
	if d.t.Components == nil {
		return nil
	}
	return d.t.Components.Schemas[name]
}

// schemaName returns the name of the component schema a $ref names, if it names one.
func schemaName(ref string) (string, bool) {
	name, ok := strings.CutPrefix(ref, "#/components/schemas/")
	return name, ok && name != "" && !strings.Contains(name, "/")
}

// Operation is one operation of a document: where it is and what it is called.
type Operation struct {
	ID     string
	Method string // upper case: GET, POST, ...
	Path   string

	op   *openapi3.Operation
	item *openapi3.PathItem
}

// String returns the method and path, as in "POST /uploads".
func (o Operation) String() string {
	return o.Method + " " + o.Path
}

// operations returns every operation of the document, sorted by method and path.
func (d *Document) operations() []Operation {
	var ops []Operation
	for path, item := range d.t.Paths.Map() {
		if item == nil {
			continue
		}
		for method, op := range item.Operations() {
			ops = append(ops, Operation{ID: op.OperationID, Method: method, Path: path, op: op, item: item})
		}
	}
	slices.SortFunc(ops, func(a, b Operation) int { return strings.Compare(a.String(), b.String()) })
	return ops
}

// operationAt returns the operation at a method (upper case) and path.
func (d *Document) operationAt(method, path string) (Operation, bool) {
	item := d.t.Paths.Value(path)
	if item == nil {
		return Operation{}, false
	}
	op := item.GetOperation(method)
	if op == nil {
		return Operation{}, false
	}
	return Operation{ID: op.OperationID, Method: method, Path: path, op: op, item: item}, true
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

// match finds the published operation that is one of ours: the one at the same method and
// path, else the one with the same operationId (under its published name), wherever it is.
func match(op Operation, upstream *Document, names Names) (Operation, bool) {
	if theirs, ok := upstream.operationAt(op.Method, op.Path); ok {
		return theirs, true
	}
	return upstream.operationByID(names.upstreamOperation(op.ID))
}
