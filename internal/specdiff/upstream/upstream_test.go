package upstream

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// whole is what `make upstream-diff` compares whole.
var whole = []string{"/uploads"}

// read returns a file of the repository, by its path from the repository root.
func read(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile("../../../" + path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func parse(t *testing.T, data []byte) *Document {
	t.Helper()
	doc, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func readCatalog(t *testing.T) Catalog {
	t.Helper()
	catalog, err := ParseCatalog(read(t, "openapi/DIVERGENCES.md"))
	if err != nil {
		t.Fatal(err)
	}
	return catalog
}

// asJSON re-encodes a YAML document as JSON, the other form the published document comes in.
func asJSON(t *testing.T, data []byte) []byte {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// edit returns the document with one piece of text replaced, failing if it is not there.
func edit(t *testing.T, data []byte, old, replacement string) []byte {
	t.Helper()
	if bytes.Count(data, []byte(old)) != 1 {
		t.Fatalf("the fixture does not hold %q exactly once", old)
	}
	return bytes.Replace(data, []byte(old), []byte(replacement), 1)
}

// TestFixtures runs the comparison as `make upstream-diff` does, on hand-written documents of
// the published document's shapes, and checks what is not listed and which rows are stale.
func TestFixtures(t *testing.T) {
	ours := parse(t, read(t, "openapi/uploads.yaml"))
	catalog := readCatalog(t)
	current := read(t, "testdata/upstream/current.yaml")
	tests := []struct {
		name     string
		upstream []byte
		names    Names
		unlisted []Difference
		stale    []string // keys of the rows that match nothing
	}{
		{name: "current", upstream: current},
		{name: "current, as JSON", upstream: asJSON(t, current)},
		{name: "current, gzipped", upstream: gzipped(t, current)},
		{name: "new field", upstream: edit(t, current, "        upload_id: {type: string}\n", "        upload_id: {type: string}\n        upload_url: {type: string}\n"),
			unlisted: []Difference{{"schema.UploadPart.properties.upload_url", Absent, Present}}},
		{name: "removed enum value", upstream: edit(t, current, "enum: [pending, completed, cancelled, expired]", "enum: [pending, completed, cancelled]"),
			unlisted: []Difference{{"schema.Upload.properties.status.enum.expired", Present, Absent}}},
		{name: "File no longer nullable in Upload", upstream: edit(t, current, "            - description: The File, once the upload is complete.\n              nullable: true\n", ""),
			unlisted: []Difference{{"schema.Upload.properties.file.nullable", "true", Absent}}},
		{name: "required field dropped", upstream: edit(t, current, "required: [created_at, id, object, upload_id]", "required: [created_at, id, object]"),
			unlisted: []Difference{{"schema.UploadPart.required.upload_id", Present, Absent}}},
		{name: "type changed", upstream: edit(t, current, "        upload_id: {type: string}\n", "        upload_id: {type: integer}\n"),
			unlisted: []Difference{{"schema.UploadPart.properties.upload_id.type", "string", "integer"}}},
		{name: "parameter added", upstream: edit(t, current, "schema: {type: string, example: upload_abc123}}\n", "schema: {type: string, example: upload_abc123}}\n        - {in: query, name: wait, schema: {type: boolean}}\n"),
			unlisted: []Difference{{"operation.addUploadPart.parameters.query.wait", Absent, Present}}},
		{name: "security changed", upstream: edit(t, current, "      type: http\n      scheme: bearer\n", "      type: apiKey\n      in: header\n      name: api-key\n"),
			unlisted: []Difference{{"document.security", "http bearer", "apiKey header api-key"}}},
		{name: "operation gone, another in its place", upstream: edit(t, edit(t, current, "  /uploads/{upload_id}/cancel:", "  /uploads/{upload_id}/abandon:"), "operationId: cancelUpload", "operationId: abandonUpload"),
			unlisted: []Difference{{"operation.abandonUpload", Absent, Present}, {"operation.cancelUpload", Present, Absent}}},
		{name: "new Uploads operation", upstream: edit(t, current, "  /uploads/{upload_id}/parts:\n", "  /uploads/{upload_id}:\n    get:\n      operationId: retrieveUpload\n      responses:\n        \"200\": {description: OK}\n  /uploads/{upload_id}/parts:\n"),
			unlisted: []Difference{{"operation.retrieveUpload", Absent, Present}}},
		{name: "older", upstream: read(t, "testdata/upstream/older.yaml"),
			unlisted: []Difference{
				{"schema.CreateUploadRequest.properties.expires_after", Present, Absent},
				{"schema.FileObject.properties.expires_at", Present, Absent},
				{"schema.FileObject.properties.purpose.enum.user_data", Present, Absent},
			},
			stale: []string{"schema.FileObject.properties.expires_at.nullable", "schema.FileExpirationAfter.additionalProperties"}},
		{name: "newer", upstream: read(t, "testdata/upstream/newer.yaml"),
			unlisted: []Difference{
				{"operation.addUploadPart.path", "POST /uploads/{upload_id}/parts", "PUT /uploads/{upload_id}/parts"},
				{"operation.cancelUpload.operationId", "cancelUpload", "cancelUploadRequest"},
				{"operation.completeUpload.path", "POST /uploads/{upload_id}/complete", "POST /uploads/{upload_id}/completion"},
				{"schema.Upload.name", "Upload", "UploadObject"},
			},
			stale: []string{"schema.FileObject.properties.expires_at.nullable", "schema.FileObject.properties.status_details.nullable", "schema.FileObject.properties.purpose.enum.evals"}},
		{name: "newer, with its names listed", upstream: read(t, "testdata/upstream/newer.yaml"),
			names: Names{
				schemas: map[string]string{"FileObject": "OpenAIFile", "Upload": "UploadObject",
					"FileList": "ListFilesResponse", "FileDeleted": "DeleteFileResponse"},
				operations: map[string]string{"cancelUpload": "cancelUploadRequest"},
			},
			unlisted: []Difference{
				{"operation.addUploadPart.path", "POST /uploads/{upload_id}/parts", "PUT /uploads/{upload_id}/parts"},
				{"operation.completeUpload.path", "POST /uploads/{upload_id}/complete", "POST /uploads/{upload_id}/completion"},
			},
			stale: []string{"schema.FileObject.properties.expires_at.nullable", "schema.FileObject.properties.status_details.nullable", "schema.FileObject.properties.purpose.enum.evals"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names := catalog.Names
			if tt.names.schemas != nil {
				names = tt.names
			}
			diffs, err := Compare(ours, parse(t, tt.upstream), Options{Names: names, Whole: whole})
			if err != nil {
				t.Fatal(err)
			}
			report := Check(diffs, catalog.Divergences)
			var unlisted []Difference
			for _, f := range report.Unlisted() {
				unlisted = append(unlisted, f.Difference)
			}
			if !slices.Equal(unlisted, tt.unlisted) {
				t.Errorf("not listed:\n got %v\nwant %v", unlisted, tt.unlisted)
			}
			var stale []string
			for _, d := range report.Unused {
				stale = append(stale, d.Key)
			}
			if !slices.Equal(stale, tt.stale) {
				t.Errorf("stale rows:\n got %q\nwant %q", stale, tt.stale)
			}
			var out strings.Builder
			if err := report.Write(&out, "DIVERGENCES.md"); err != nil {
				t.Fatal(err)
			}
			for _, d := range tt.unlisted {
				if !strings.Contains(out.String(), "NOT LISTED  "+d.String()+"\n") {
					t.Errorf("report does not name %s as not listed:\n%s", d, out.String())
				}
				row := "| `" + d.Key + "` |"
				if kind, name, ok := renamed(d); ok {
					row = "| " + kind + " | " + name + " | " + d.Upstream + " |"
				}
				if !strings.Contains(out.String(), row) {
					t.Errorf("report does not give the row %s to add:\n%s", row, out.String())
				}
			}
		})
	}
}

// TestCatalogExplainsEachDifference checks that each row of the divergences is needed: without
// it the difference it explains is reported.
func TestCatalogExplainsEachDifference(t *testing.T) {
	ours := parse(t, read(t, "openapi/uploads.yaml"))
	current := parse(t, read(t, "testdata/upstream/current.yaml"))
	catalog := readCatalog(t)
	diffs, err := Compare(ours, current, Options{Names: catalog.Names, Whole: whole})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range catalog.Divergences {
		without := slices.Delete(slices.Clone(catalog.Divergences), i, i+1)
		if len(Check(diffs, without).Unlisted()) == 0 {
			t.Errorf("without DIVERGENCES.md:%d (%s) every difference is still explained", d.Line, d.Key)
		}
	}
	// And the names are needed: without them each schema named otherwise is reported renamed, once.
	diffs, err = Compare(ours, current, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var unlisted []Difference
	for _, f := range Check(diffs, catalog.Divergences).Unlisted() {
		unlisted = append(unlisted, f.Difference)
	}
	want := []Difference{
		{"schema.FileDeleted.name", "FileDeleted", "DeleteFileResponse"},
		{"schema.FileList.name", "FileList", "ListFilesResponse"},
		{"schema.FileObject.name", "FileObject", "OpenAIFile"},
	}
	if !slices.Equal(unlisted, want) {
		t.Errorf("without the names, not listed: %v, want %v", unlisted, want)
	}
}

// TestRealDocument runs the comparison on the whole published document when a copy is at hand
// (UPLOADS_UPSTREAM_DOCUMENT=path, gzipped or not, relative to the repository's root): it must
// pass as `make upstream-diff` does.
func TestRealDocument(t *testing.T) {
	path := os.Getenv("UPLOADS_UPSTREAM_DOCUMENT")
	if path == "" {
		t.Skip("UPLOADS_UPSTREAM_DOCUMENT is not set")
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join("../../..", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	catalog := readCatalog(t)
	diffs, err := Compare(parse(t, read(t, "openapi/uploads.yaml")), parse(t, data), Options{Names: catalog.Names, Whole: whole})
	if err != nil {
		t.Fatal(err)
	}
	report := Check(diffs, catalog.Divergences)
	if len(report.Unlisted()) > 0 || len(report.Unused) > 0 {
		var out strings.Builder
		_ = report.Write(&out, "DIVERGENCES.md")
		t.Errorf("the published document differs from what DIVERGENCES.md lists:\n%s", out.String())
	}
}

func TestExtract(t *testing.T) {
	ours := parse(t, read(t, "openapi/uploads.yaml"))
	catalog := readCatalog(t)
	full := parse(t, read(t, "testdata/upstream/current.yaml"))
	data, err := Extract(ours, full, catalog.Names)
	if err != nil {
		t.Fatal(err)
	}
	extract, err := Parse(data)
	if err != nil {
		t.Fatalf("the extract does not parse: %v\n%s", err, data)
	}
	var ids, want []string
	for _, op := range extract.operations() {
		ids = append(ids, op.ID)
	}
	for _, op := range ours.operations() {
		want = append(want, op.ID)
	}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("extracted operations = %v, want %v", ids, want)
	}
	for _, name := range []string{"OpenAIFile", "Upload", "FileExpirationAfter"} {
		if extract.schema(name) == nil {
			t.Errorf("the extract lacks the schema %s, which the operations reach", name)
		}
	}
	for _, name := range []string{"Model", "ListModelsResponse"} {
		if extract.schema(name) != nil {
			t.Errorf("the extract has the schema %s, which no extracted operation reaches", name)
		}
	}
	if extract.t.Components.SecuritySchemes["ApiKeyAuth"] == nil {
		t.Error("the extract lacks the security scheme the document requires")
	}
	fromFull, err := Compare(ours, full, Options{Names: catalog.Names, Whole: whole})
	if err != nil {
		t.Fatal(err)
	}
	fromExtract, err := Compare(ours, extract, Options{Names: catalog.Names, Whole: whole})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fromFull, fromExtract) {
		t.Errorf("the extract compares differently from the whole document:\n%v\n%v", fromExtract, fromFull)
	}
}

// TestCompareAnyPair compares every pair of the documents at hand, each way round: whatever the
// shapes, the comparison finishes without an error or a panic, a document compared with itself
// has no difference, and two different documents have some.
func TestCompareAnyPair(t *testing.T) {
	paths := []string{"openapi/uploads.yaml", "testdata/upstream/current.yaml", "testdata/upstream/older.yaml", "testdata/upstream/newer.yaml"}
	docs := make([]*Document, len(paths))
	for i, path := range paths {
		docs[i] = parse(t, read(t, path))
	}
	names := readCatalog(t).Names
	for i := range docs {
		for j := range docs {
			diffs, err := Compare(docs[i], docs[j], Options{Names: names, Documentation: i%2 == 0, Whole: whole})
			if err != nil {
				t.Errorf("%s with %s: %v", paths[i], paths[j], err)
				continue
			}
			if (i == j) != (len(diffs) == 0) {
				t.Errorf("%s with %s: %d differences", paths[i], paths[j], len(diffs))
			}
			for _, d := range diffs {
				if d.Key == "" || d.Ours == d.Upstream || strings.Contains(d.String(), "\n") {
					t.Errorf("%s with %s: %q is not a difference on one line", paths[i], paths[j], d)
				}
			}
		}
	}
}
