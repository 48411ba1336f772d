package upstream

import (
	"slices"
	"strings"
	"testing"
)

// docParts describe a small document with one operation, by default GET /things/{id}
// (getThing) with one path parameter, whose 200 response has the given schema. Each part left
// empty takes its default; opExtra is YAML added to the operation (or after it).
type docParts struct {
	version, path, method, id, params, opExtra, schema, schemas, security, components string
}

// build writes the document and parses it.
func (p docParts) build(t *testing.T) *Document {
	t.Helper()
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	src := `openapi: ` + def(p.version, "3.0.3") + `
info: {title: t, version: "1"}
security: ` + def(p.security, "[{bearer: []}]") + `
paths:
  ` + def(p.path, "/things/{id}") + `:
    ` + def(p.method, "get") + `:
      operationId: ` + def(p.id, "getThing") + `
      parameters:
        - ` + def(p.params, "{name: id, in: path, required: true, schema: {type: string}}") + `
      responses:
        200:
          description: ok
          content:
            application/json:
              schema: ` + def(p.schema, "{type: string}") + `
` + p.opExtra + `
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
    Bearer2: {type: http, scheme: Bearer}
    key: {type: apiKey, in: header, name: X-Key}
  schemas: ` + def(p.schemas, "{}") + "\n" + p.components
	doc, err := Parse([]byte(src))
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	return doc
}

// checkDifferences compares the documents and fails unless the differences, as
// "key: ours X, upstream Y", are want.
func checkDifferences(t *testing.T, ours, theirs *Document, opts Options, want []string) {
	t.Helper()
	diffs, err := Compare(ours, theirs, opts)
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

// swapped returns the differences as they read with the two documents swapped.
func swapped(want []string) []string {
	var out []string
	for _, w := range want {
		key, values, _ := strings.Cut(w, ": ours ")
		ours, upstream, _ := strings.Cut(values, ", upstream ")
		out = append(out, key+": ours "+upstream+", upstream "+ours)
	}
	return out
}

const things = `
    Thing: {type: object, properties: {id: {type: string, minLength: 1}}}
    OtherThing: {type: object, properties: {id: {type: string, minLength: 1}}}`

// TestNormalisation checks that each way of writing the same schema compares equal to the
// plain way, with the spelling on either side and in either OpenAPI version, and that a real
// difference beside it is still found, once.
func TestNormalisation(t *testing.T) {
	const at = "operation.getThing.responses.200.content.application/json.schema"
	tests := []struct {
		name         string
		plain, spelt string
		version      string // of the document with the spelling
		plainVersion string
	}{
		{"nullable 3.0", `{type: integer, nullable: true}`, `{type: integer, nullable: true}`, "3.0.3", "3.1.0"},
		{"null in a list of types", `{type: integer, nullable: true}`, `{type: [integer, "null"]}`, "3.1.0", "3.0.3"},
		{"null in a list of types, in another order", `{type: integer, nullable: true}`, `{type: ["null", integer]}`, "3.1.0", "3.0.3"},
		{"anyOf with null", `{type: integer, nullable: true}`, `{anyOf: [{type: integer}, {type: "null"}]}`, "3.1.0", "3.0.3"},
		{"oneOf with null", `{type: integer, nullable: true}`, `{oneOf: [{type: "null"}, {type: integer}]}`, "3.1.0", "3.0.3"},
		{"null in an enum", `{type: string, enum: [a], nullable: true}`, `{type: [string, "null"], enum: [a, null]}`, "3.1.0", "3.0.3"},
		{"nullable reference, allOf of one", `{$ref: "#/components/schemas/Thing", nullable: true}`, `{allOf: [{$ref: "#/components/schemas/Thing"}], nullable: true}`, "3.0.3", "3.1.0"},
		{"nullable reference, anyOf with null", `{allOf: [{$ref: "#/components/schemas/Thing"}], nullable: true}`, `{anyOf: [{$ref: "#/components/schemas/Thing"}, {type: "null"}]}`, "3.1.0", "3.0.3"},
		{"nullable reference, allOf with a nullable member", `{allOf: [{$ref: "#/components/schemas/Thing"}], nullable: true}`, `{allOf: [{$ref: "#/components/schemas/Thing"}, {description: or nothing, nullable: true}]}`, "3.1.0", "3.0.3"},
		{"type beside a reference", `{$ref: "#/components/schemas/Thing"}`, `{type: object, allOf: [{$ref: "#/components/schemas/Thing"}]}`, "3.0.3", "3.1.0"},
		{"allOf merged", `{type: object, required: [a], properties: {a: {type: string}, b: {type: integer}}}`, `{allOf: [{type: object, required: [a], properties: {a: {type: string}}}, {properties: {b: {type: integer}}}]}`, "3.0.3", "3.0.3"},
		{"allOf with a reference and more", `{type: object, properties: {id: {type: string, minLength: 1}, b: {type: integer}}}`, `{allOf: [{$ref: "#/components/schemas/Thing"}, {properties: {b: {type: integer}}}]}`, "3.0.3", "3.0.3"},
		{"const", `{type: string, enum: [thing]}`, `{type: string, const: thing}`, "3.1.0", "3.0.3"},
		{"object without a type", `{type: object, properties: {a: {type: string}}}`, `{properties: {a: {type: string}}}`, "3.0.3", "3.0.3"},
		{"exclusive bound", `{type: integer, minimum: 1, exclusiveMinimum: true}`, `{type: integer, exclusiveMinimum: 1}`, "3.1.0", "3.0.3"},
		{"reference and the same in place", `{$ref: "#/components/schemas/Thing"}`, `{type: object, properties: {id: {type: string, minLength: 1}}}`, "3.0.3", "3.0.3"},
		{"documentation and foreign extensions", `{type: string}`, `{type: string, description: x, title: y, example: z, externalDocs: {url: "https://example.com"}, x-stainless-const: true, x-oaiMeta: {a: 1}}`, "3.0.3", "3.0.3"},
		{"examples (3.1)", `{type: string}`, `{type: string, examples: [a, b]}`, "3.1.0", "3.0.3"},
		{"numbers from JSON and YAML alike", `{type: integer, maximum: 8589934592}`, `{type: integer, maximum: 8.589934592e9}`, "3.0.3", "3.0.3"},
	}
	// The difference added to both spellings: it must be found, once, whatever the spelling.
	const extra = ", maxLength: 9"
	withExtra := func(schema string) string {
		if strings.HasPrefix(schema, "{$ref") || strings.Contains(schema, "allOf") || strings.Contains(schema, "anyOf") || strings.Contains(schema, "oneOf") {
			return "" // a sibling constraint would make it another schema: not checked here
		}
		return strings.TrimSuffix(schema, "}") + extra + "}"
	}
	for _, tt := range tests {
		for _, spelledOurs := range []bool{true, false} {
			name := tt.name + ", upstream"
			if spelledOurs {
				name = tt.name + ", ours"
			}
			t.Run(name, func(t *testing.T) {
				plain := docParts{version: tt.plainVersion, schema: tt.plain, schemas: things}.build(t)
				spelt := docParts{version: tt.version, schema: tt.spelt, schemas: things}.build(t)
				ours, theirs := plain, spelt
				if spelledOurs {
					ours, theirs = spelt, plain
				}
				checkDifferences(t, ours, theirs, Options{}, nil)

				if e := withExtra(tt.spelt); e != "" {
					spelt := docParts{version: tt.version, schema: e, schemas: things}.build(t)
					want := []string{at + ".maxLength: ours absent, upstream 9"}
					ours, theirs := plain, spelt
					if spelledOurs {
						ours, theirs, want = spelt, plain, swapped(want)
					}
					checkDifferences(t, ours, theirs, Options{}, want)
				}
			})
		}
	}
}

func TestCompareSchemas(t *testing.T) {
	const at = "operation.getThing.responses.200.content.application/json.schema"
	tests := []struct {
		name           string
		ours, upstream string
		opts           Options
		want           []string
	}{
		{"same", `{type: integer}`, `{type: integer}`, Options{}, nil},
		{"renamed schema, listed", `{$ref: "#/components/schemas/Thing"}`, `{$ref: "#/components/schemas/OtherThing"}`, Options{Names: Names{schemas: map[string]string{"Thing": "OtherThing"}}}, nil},
		{"renamed schema, not listed", `{$ref: "#/components/schemas/Thing"}`, `{$ref: "#/components/schemas/OtherThing"}`, Options{},
			[]string{"schema.Thing.name: ours Thing, upstream OtherThing"}},
		{"nullable on one side", `{type: integer, nullable: true}`, `{type: integer}`, Options{},
			[]string{at + ".nullable: ours true, upstream absent"}},
		{"nullable reference on one side", `{allOf: [{$ref: "#/components/schemas/Thing"}], nullable: true}`, `{$ref: "#/components/schemas/Thing"}`, Options{},
			[]string{at + ".nullable: ours true, upstream absent"}},
		{"changed type", `{type: integer}`, `{type: string}`, Options{},
			[]string{at + ".type: ours integer, upstream string"}},
		{"changed format", `{type: integer, format: int64}`, `{type: integer, format: unixtime}`, Options{},
			[]string{at + ".format: ours int64, upstream unixtime"}},
		{"enum values", `{type: string, enum: [a, b]}`, `{type: string, enum: [b, c]}`, Options{}, []string{
			at + ".enum.a: ours present, upstream absent",
			at + ".enum.c: ours absent, upstream present",
		}},
		{"required and properties", `{type: object, required: [a], properties: {a: {type: string}}}`, `{type: object, properties: {a: {type: string}, b: {type: object, properties: {c: {type: string}}}}}`, Options{}, []string{
			at + ".properties.b: ours absent, upstream present",
			at + ".required.a: ours present, upstream absent",
		}},
		{"closed object", `{type: object, additionalProperties: false}`, `{type: object}`, Options{},
			[]string{at + ".additionalProperties: ours false, upstream absent"}},
		{"codegen extension compared", `{type: string, x-go-type: MyString}`, `{type: string}`, Options{},
			[]string{at + ".x-go-type: ours MyString, upstream absent"}},
		{"unknown keyword compared", `{type: string}`, `{type: string, x-unknown: 1, contentThing: {type: object}}`, Options{},
			[]string{at + `.contentThing: ours absent, upstream {"type":"object"}`}},
		{"documentation when asked", `{type: string, description: "  a  "}`, `{type: string, description: b}`, Options{Documentation: true},
			[]string{at + ".description: ours a, upstream b"}},
		{"same documentation when asked", `{type: string, description: "a\n"}`, `{type: string, description: a}`, Options{Documentation: true}, nil},
		{"an annotation beside a reference (3.1)", `{$ref: "#/components/schemas/Thing"}`, `{$ref: "#/components/schemas/Thing", description: a thing, deprecated: true}`, Options{},
			[]string{at + ".deprecated: ours absent, upstream true"}},
		{"a constraint beside a reference (3.1)", `{$ref: "#/components/schemas/Thing"}`, `{$ref: "#/components/schemas/Thing", maxProperties: 3}`, Options{},
			[]string{at + ".maxProperties: ours absent, upstream 3"}},
		{"a property beside a reference (3.1)", `{$ref: "#/components/schemas/Thing"}`, `{$ref: "#/components/schemas/Thing", properties: {id: {maxLength: 3}}}`, Options{},
			[]string{at + ".properties.id.maxLength: ours absent, upstream 3"}},
		{"a reference against another schema in place", `{$ref: "#/components/schemas/Thing"}`, `{type: object, properties: {id: {type: integer}}}`, Options{},
			[]string{at + ".properties.id.minLength: ours 1, upstream absent", at + ".properties.id.type: ours string, upstream integer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ours := docParts{schema: tt.ours, schemas: things}.build(t)
			theirs := docParts{version: "3.1.0", schema: tt.upstream, schemas: things}.build(t)
			checkDifferences(t, ours, theirs, tt.opts, tt.want)
		})
	}
}

// A difference inside a component both documents refer to from several places is reported
// once, under the component's name.
func TestCompareComponentOnce(t *testing.T) {
	extra := `    post:
      operationId: postThing
      responses:
        200:
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}`
	ours := docParts{opExtra: extra, schema: `{$ref: "#/components/schemas/Thing"}`, schemas: `{Thing: {type: object, properties: {id: {type: string}}}}`}.build(t)
	theirs := docParts{opExtra: extra, schema: `{allOf: [{$ref: "#/components/schemas/Thing"}, {nullable: true}]}`, schemas: `{Thing: {properties: {id: {type: integer}}}}`}.build(t)
	checkDifferences(t, ours, theirs, Options{}, []string{
		"operation.getThing.responses.200.content.application/json.schema.nullable: ours absent, upstream true",
		"schema.Thing.properties.id.type: ours string, upstream integer",
	})
}

func TestCompareOperations(t *testing.T) {
	base := docParts{}
	tests := []struct {
		name     string
		upstream docParts
		opts     Options
		want     []string
	}{
		{"same", base, Options{}, nil},
		{"security by definition, not name", docParts{security: "[{Bearer2: []}]"}, Options{}, nil},
		{"other security", docParts{security: "[{key: []}]"}, Options{},
			[]string{"document.security: ours http bearer, upstream apiKey header X-Key"}},
		{"the same security on the operation instead of the document", docParts{security: "[]", opExtra: "      security: [{Bearer2: []}]"}, Options{},
			[]string{"document.security: ours http bearer, upstream absent"}},
		{"operation-level security overrides", docParts{opExtra: "      security: []"}, Options{},
			[]string{"operation.getThing.security: ours http bearer, upstream absent"}},
		{"other operationId at the same path", docParts{id: "fetchThing"}, Options{},
			[]string{"operation.getThing.operationId: ours getThing, upstream fetchThing"}},
		{"renamed operation, listed", docParts{id: "fetchThing"}, Options{Names: Names{operations: map[string]string{"getThing": "fetchThing"}}}, nil},
		{"same operation at another path", docParts{path: "/v2/things/{id}"}, Options{},
			[]string{"operation.getThing.path: ours GET /things/{id}, upstream GET /v2/things/{id}"}},
		{"same operation with another method", docParts{method: "post"}, Options{},
			[]string{"operation.getThing.path: ours GET /things/{id}, upstream POST /things/{id}"}},
		{"operation missing", docParts{path: "/v2/things/{id}", id: "fetchThing"}, Options{},
			[]string{"operation.getThing: ours present, upstream absent"}},
		{"response added", docParts{opExtra: "        404: {description: gone}"}, Options{},
			[]string{"operation.getThing.responses.404: ours absent, upstream present"}},
		{"shared parameter and the same in place", docParts{params: `{$ref: "#/components/parameters/ID"}`,
			components: "  parameters:\n    ID: {name: id, in: path, required: true, schema: {type: string}}\n"}, Options{}, nil},
		{"shared response and the same in place", docParts{opExtra: `        404: {$ref: "#/components/responses/Gone"}`,
			components: "  responses:\n    Gone: {description: gone}\n"}, Options{},
			[]string{"operation.getThing.responses.404: ours absent, upstream present"}},
		{"summary ignored", docParts{opExtra: "      summary: Get it."}, Options{}, nil},
		{"summary when asked", docParts{opExtra: "      summary: Get it."}, Options{Documentation: true},
			[]string{"operation.getThing.summary: ours absent, upstream Get it."}},
		{"default style written out", docParts{params: "{name: id, in: path, required: true, style: simple, explode: false, schema: {type: string}}"}, Options{}, nil},
		{"other style", docParts{params: "{name: id, in: path, required: true, style: label, schema: {type: string}}"}, Options{},
			[]string{"operation.getThing.parameters.path.id.style: ours simple, upstream label"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkDifferences(t, base.build(t), tt.upstream.build(t), tt.opts, tt.want)
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, src, wantErr string
	}{
		{"YAML", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {/a: {get: {responses: {200: {description: ok}}}}}\n", ""},
		{"JSON", `{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {"responses": {"200": {"description": "ok"}}}}}}`, ""},
		{"empty", " \n", "empty"},
		{"broken YAML", "openapi: [\n", "load"},
		{"broken JSON", `{"openapi": `, "load"},
		{"not a mapping", "- a\n- b\n", "load"},
		{"not OpenAPI", "a: 1\n", "not an OpenAPI document"},
		{"Swagger 2.0", "swagger: '2.0'\ninfo: {title: t, version: '1'}\npaths: {/a: {get: {responses: {200: {description: ok}}}}}\n", "not an OpenAPI document"},
		{"no paths", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n", "no paths"},
		{"broken reference", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {/a: {get: {responses: {200: {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Missing'}}}}}}}}\n", "Missing"},
		{"external reference", "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {/a: {get: {responses: {200: {description: ok, content: {application/json: {schema: {$ref: 'other.yaml#/X'}}}}}}}}\n", "other.yaml"},
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

func TestInScope(t *testing.T) {
	prefixes := []string{"/uploads/"}
	for path, want := range map[string]bool{
		"/uploads": true, "/uploads/{upload_id}": true, "/uploads/{upload_id}/parts": true,
		"/uploadsx": false, "/files": false, "/v2/uploads": false,
	} {
		if got := inScope(path, prefixes); got != want {
			t.Errorf("inScope(%q) = %v, want %v", path, got, want)
		}
	}
}

// A shared request body, response or parameter compares as the same written in place, on either
// side.
func TestCompareSharedParts(t *testing.T) {
	build := func(t *testing.T, refs bool) *Document {
		p := docParts{method: "post"}
		if refs {
			p.params = `{$ref: "#/components/parameters/ID"}`
			p.opExtra = `        404: {$ref: "#/components/responses/Gone"}
      requestBody: {$ref: "#/components/requestBodies/Thing"}`
			p.components = `  parameters:
    ID: {name: id, in: path, required: true, schema: {type: string}}
  responses:
    Gone: {description: gone}
  requestBodies:
    Thing: {required: true, content: {application/json: {schema: {type: object, properties: {a: {type: string}}}}}}
`
		} else {
			p.opExtra = `        404: {description: gone}
      requestBody: {required: true, content: {application/json: {schema: {properties: {a: {type: string}}}}}}`
		}
		return p.build(t)
	}
	checkDifferences(t, build(t, true), build(t, false), Options{}, nil)
	checkDifferences(t, build(t, false), build(t, true), Options{}, nil)

	// And a difference inside a shared part is found there.
	changed := docParts{method: "post", opExtra: `        404: {description: gone}
      requestBody: {content: {application/json: {schema: {properties: {a: {type: string}}}}}}`}.build(t)
	checkDifferences(t, build(t, true), changed, Options{}, []string{"operation.getThing.requestBody.required: ours true, upstream absent"})
}
