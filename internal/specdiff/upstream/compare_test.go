package upstream

import (
	"slices"
	"strings"
	"testing"
)

// oneOperation returns a document with one operation, GET /things/{id} (getThing), whose 200
// response has the given schema, and the given components/schemas and security schemes.
func oneOperation(t *testing.T, opExtra, schema, schemas, security string) *Document {
	t.Helper()
	src := `openapi: 3.0.3
info: {title: t, version: "1"}
security: ` + security + `
paths:
  /things/{id}:
    get:
      operationId: getThing
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        200:
          description: ok
          content:
            application/json:
              schema: ` + schema + `
` + opExtra + `
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
    Bearer2: {type: http, scheme: Bearer}
    key: {type: apiKey, in: header, name: X-Key}
  schemas: ` + schemas + "\n"
	doc, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	return doc
}

// checkDifferences compares the documents and fails unless the differences, as
// "key: ours X, upstream Y", are want.
func checkDifferences(t *testing.T, ours, theirs *Document, names Names, want []string) {
	t.Helper()
	diffs, err := Compare(ours, theirs, names)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range diffs {
		got = append(got, d.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("differences:\n got %q\nwant %q", got, want)
	}
}

func TestCompareSchemas(t *testing.T) {
	const things = `{Thing: {type: object, properties: {id: {type: string, minLength: 1}}}, OtherThing: {type: object, properties: {id: {type: string, minLength: 1}}}}`
	tests := []struct {
		name           string
		ours, upstream string
		names          Names
		want           []string // the differences, as "key: ours X, upstream Y"
	}{
		{"same", `{type: integer}`, `{type: integer}`, Names{}, nil},
		{"nullable in 3.0 and 3.1 list of types", `{type: integer, nullable: true}`, `{type: [integer, "null"]}`, Names{}, nil},
		{"nullable in 3.0 and 3.1 anyOf", `{type: integer, nullable: true}`, `{anyOf: [{type: integer}, {type: "null"}]}`, Names{}, nil},
		{"nullable reference, allOf and anyOf", `{allOf: [{$ref: "#/components/schemas/Thing"}], nullable: true}`, `{anyOf: [{$ref: "#/components/schemas/Thing"}, {type: "null"}]}`, Names{}, nil},
		{"type beside a reference", `{type: object, allOf: [{$ref: "#/components/schemas/Thing"}]}`, `{$ref: "#/components/schemas/Thing"}`, Names{}, nil},
		{"const and one-value enum", `{type: string, enum: [thing]}`, `{type: string, const: thing}`, Names{}, nil},
		{"documentation and foreign extensions ignored", `{type: string, description: a, example: b, title: c}`, `{type: string, description: x, x-stainless-const: true, x-oaiMeta: {a: 1}}`, Names{}, nil},
		{"reference and the same in place", `{$ref: "#/components/schemas/Thing"}`, `{type: object, properties: {id: {type: string, minLength: 1}}}`, Names{}, nil},
		{"renamed schema", `{$ref: "#/components/schemas/Thing"}`, `{$ref: "#/components/schemas/OtherThing"}`, Names{schemas: map[string]string{"Thing": "OtherThing"}}, nil},
		{"unmapped renamed schema", `{$ref: "#/components/schemas/Thing"}`, `{$ref: "#/components/schemas/OtherThing"}`, Names{},
			[]string{"operation.getThing.responses.200.content.application/json.schema.$ref: ours Thing, upstream OtherThing"}},
		{"nullable on one side", `{type: integer, nullable: true}`, `{type: integer}`, Names{},
			[]string{"operation.getThing.responses.200.content.application/json.schema.nullable: ours true, upstream absent"}},
		{"changed type", `{type: integer}`, `{type: string}`, Names{},
			[]string{"operation.getThing.responses.200.content.application/json.schema.type: ours integer, upstream string"}},
		{"enum values", `{type: string, enum: [a, b]}`, `{type: string, enum: [b, c]}`, Names{}, []string{
			"operation.getThing.responses.200.content.application/json.schema.enum.a: ours present, upstream absent",
			"operation.getThing.responses.200.content.application/json.schema.enum.c: ours absent, upstream present",
		}},
		{"required and properties", `{type: object, required: [a], properties: {a: {type: string}}}`, `{type: object, properties: {a: {type: string}, b: {type: object, properties: {c: {type: string}}}}}`, Names{}, []string{
			"operation.getThing.responses.200.content.application/json.schema.properties.b: ours absent, upstream present",
			"operation.getThing.responses.200.content.application/json.schema.required.a: ours present, upstream absent",
		}},
		{"codegen extension compared", `{type: string, x-go-type: MyString}`, `{type: string}`, Names{},
			[]string{"operation.getThing.responses.200.content.application/json.schema.x-go-type: ours MyString, upstream absent"}},
		{"unknown keyword compared", `{type: string}`, `{type: string, contentSchema: {type: object}}`, Names{},
			[]string{`operation.getThing.responses.200.content.application/json.schema.contentSchema: ours absent, upstream {"type":"object"}`}},
		{"component compared once under its name", `{$ref: "#/components/schemas/Thing"}`, `{$ref: "#/components/schemas/Thing"}`, Names{}, nil},
		{"numbers from JSON and YAML alike", `{type: integer, maximum: 8589934592}`, `{type: integer, maximum: 8.589934592e9}`, Names{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ours := oneOperation(t, "", tt.ours, things, "[{bearer: []}]")
			theirs := oneOperation(t, "", tt.upstream, things, "[{bearer: []}]")
			checkDifferences(t, ours, theirs, tt.names, tt.want)
		})
	}
}

func TestCompareComponentOnce(t *testing.T) {
	ours := oneOperation(t, "", `{$ref: "#/components/schemas/Thing"}`, `{Thing: {type: object, properties: {id: {type: string}}}}`, "[]")
	theirs := oneOperation(t, "", `{$ref: "#/components/schemas/Thing"}`, `{Thing: {type: object, properties: {id: {type: integer}}}}`, "[]")
	diffs, err := Compare(ours, theirs, Names{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Difference{{Key: "schema.Thing.properties.id.type", Ours: "string", Upstream: "integer"}}
	if !slices.Equal(diffs, want) {
		t.Errorf("differences = %v, want %v", diffs, want)
	}
}

func TestCompareOperations(t *testing.T) {
	const schemas = `{}`
	base := func(t *testing.T) *Document { return oneOperation(t, "", "{type: string}", schemas, "[{bearer: []}]") }
	tests := []struct {
		name     string
		upstream func(t *testing.T) *Document
		names    Names
		want     []string
	}{
		{"same", base, Names{}, nil},
		{"security by definition, not name", func(t *testing.T) *Document {
			return oneOperation(t, "", "{type: string}", schemas, "[{Bearer2: []}]")
		}, Names{}, nil},
		{"other security", func(t *testing.T) *Document {
			return oneOperation(t, "", "{type: string}", schemas, "[{key: []}]")
		}, Names{}, []string{"operation.getThing.security: ours http bearer, upstream apiKey header X-Key"}},
		{"operation-level security overrides", func(t *testing.T) *Document {
			return oneOperation(t, "      security: []", "{type: string}", schemas, "[{bearer: []}]")
		}, Names{}, []string{"operation.getThing.security: ours http bearer, upstream absent"}},
		{"other operationId at the same path", func(t *testing.T) *Document {
			d := base(t)
			d.root["paths"].(map[string]any)["/things/{id}"].(map[string]any)["get"].(map[string]any)["operationId"] = "fetchThing"
			return d
		}, Names{}, []string{"operation.getThing.operationId: ours getThing, upstream fetchThing"}},
		{"renamed operation, mapped", func(t *testing.T) *Document {
			d := base(t)
			d.root["paths"].(map[string]any)["/things/{id}"].(map[string]any)["get"].(map[string]any)["operationId"] = "fetchThing"
			return d
		}, Names{operations: map[string]string{"getThing": "fetchThing"}}, nil},
		{"same operation at another path", func(t *testing.T) *Document {
			d := base(t)
			paths := d.root["paths"].(map[string]any)
			paths["/v2/things/{id}"] = paths["/things/{id}"]
			delete(paths, "/things/{id}")
			return d
		}, Names{}, []string{"operation.getThing.path: ours GET /things/{id}, upstream GET /v2/things/{id}"}},
		{"operation missing", func(t *testing.T) *Document {
			d := base(t)
			d.root["paths"] = map[string]any{}
			return d
		}, Names{}, []string{"operation.getThing: ours present, upstream absent"}},
		{"response added", func(t *testing.T) *Document {
			return oneOperation(t, "        404: {description: gone}", "{type: string}", schemas, "[{bearer: []}]")
		}, Names{}, []string{"operation.getThing.responses.404: ours absent, upstream present"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDifferences(t, base(t), tt.upstream(t), tt.names, tt.want)
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, src, wantErr string
	}{
		{"YAML", "openapi: 3.0.3\npaths: {}\n", ""},
		{"JSON", `{"openapi": "3.1.0", "paths": {}}`, ""},
		{"broken YAML", "openapi: [\n", "decode YAML"},
		{"broken JSON", `{"openapi": `, "decode JSON"},
		{"not a mapping", "- a\n- b\n", "not a mapping"},
		{"no paths", "openapi: 3.0.3\n", "no paths"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src))
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Parse: err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestCompareBrokenReference(t *testing.T) {
	ours := oneOperation(t, "", "{type: string}", "{}", "[]")
	theirs := oneOperation(t, "", "{type: string}", "{}", "[]")
	op := theirs.root["paths"].(map[string]any)["/things/{id}"].(map[string]any)["get"].(map[string]any)
	op["parameters"] = []any{map[string]any{"$ref": "#/components/parameters/Missing"}}
	diffs, err := Compare(ours, theirs, Names{})
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 1 || !strings.Contains(diffs[0].Upstream, "unreadable") || !strings.Contains(diffs[0].Upstream, "Missing") {
		t.Errorf("differences = %v, want one saying the published operation is unreadable", diffs)
	}
}
