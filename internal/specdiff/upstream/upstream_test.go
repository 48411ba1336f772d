package upstream

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// readDocument parses a document of the repository, by its path from the repository root.
func readDocument(t *testing.T, path string) *Document {
	t.Helper()
	data, err := os.ReadFile("../../../" + path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc
}

func readCatalog(t *testing.T) Catalog {
	t.Helper()
	data, err := os.ReadFile("../../../openapi/DIVERGENCES.md")
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := ParseCatalog(data)
	if err != nil {
		t.Fatal(err)
	}
	return catalog
}

// asJSON re-encodes a YAML fixture as JSON, the other form the published document comes in.
func asJSON(t *testing.T, path string) *Document {
	t.Helper()
	data, err := os.ReadFile("../../../" + path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Parse(out)
	if err != nil {
		t.Fatalf("%s as JSON: %v", path, err)
	}
	return doc
}

// TestFixtures runs the comparison as `make upstream-diff` does, on the hand-written fixtures.
func TestFixtures(t *testing.T) {
	ours := readDocument(t, "openapi/uploads.yaml")
	catalog := readCatalog(t)
	tests := []struct {
		name     string
		upstream *Document
		unlisted []Difference
	}{
		{"only known divergences", readDocument(t, "testdata/upstream/known-divergences.yaml"), nil},
		{"only known divergences, as JSON", asJSON(t, "testdata/upstream/known-divergences.yaml"), nil},
		{"new field", readDocument(t, "testdata/upstream/new-field.yaml"),
			[]Difference{{Key: "schema.Upload.properties.upload_url", Ours: Absent, Upstream: Present}}},
		{"removed enum value", readDocument(t, "testdata/upstream/removed-enum-value.yaml"),
			[]Difference{{Key: "schema.Upload.properties.status.enum.expired", Ours: Present, Upstream: Absent}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diffs, err := Compare(ours, tt.upstream, catalog.Names)
			if err != nil {
				t.Fatal(err)
			}
			report := Check(diffs, catalog.Divergences)
			var unlisted []Difference
			for _, f := range report.Unlisted() {
				unlisted = append(unlisted, f.Difference)
			}
			if !slices.Equal(unlisted, tt.unlisted) {
				t.Errorf("unlisted differences:\n got %v\nwant %v", unlisted, tt.unlisted)
			}
			for _, d := range report.Unused {
				t.Errorf("DIVERGENCES.md:%d (%s) matches nothing in the fixture", d.Line, d.Key)
			}
			var out strings.Builder
			if err := report.Write(&out, "DIVERGENCES.md"); err != nil {
				t.Fatal(err)
			}
			for _, d := range tt.unlisted {
				if !strings.Contains(out.String(), "NOT LISTED  "+d.String()) || !strings.Contains(out.String(), "| `"+d.Key+"` |") {
					t.Errorf("report does not name %s as not listed with a row to add:\n%s", d, out.String())
				}
			}
		})
	}
}

// TestCatalogExplainsEachDifference checks that a divergence is needed: without the row the
// difference it explains is reported.
func TestCatalogExplainsEachDifference(t *testing.T) {
	ours := readDocument(t, "openapi/uploads.yaml")
	catalog := readCatalog(t)
	diffs, err := Compare(ours, readDocument(t, "testdata/upstream/known-divergences.yaml"), catalog.Names)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range catalog.Divergences {
		without := slices.Delete(slices.Clone(catalog.Divergences), i, i+1)
		if len(Check(diffs, without).Unlisted()) == 0 {
			t.Errorf("without DIVERGENCES.md:%d (%s) every difference is still explained", d.Line, d.Key)
		}
	}
	// And the names are needed: without them the File schema is compared with nothing.
	diffs, err = Compare(ours, readDocument(t, "testdata/upstream/known-divergences.yaml"), Names{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(Check(diffs, catalog.Divergences).Unlisted(), func(f Finding) bool {
		return f.Key == "schema.Upload.properties.file.$ref"
	}) {
		t.Error("without the names, Upload.file's reference to OpenAIFile is not reported")
	}
}

func TestExtract(t *testing.T) {
	ours := readDocument(t, "openapi/uploads.yaml")
	catalog := readCatalog(t)
	full := readDocument(t, "testdata/upstream/known-divergences.yaml")
	data, err := Extract(ours, full, catalog.Names)
	if err != nil {
		t.Fatal(err)
	}
	extract, err := Parse(data)
	if err != nil {
		t.Fatalf("the extract does not parse: %v\n%s", err, data)
	}
	var ids []string
	for _, op := range extract.operations() {
		ids = append(ids, op.ID)
	}
	slices.Sort(ids)
	want := []string{"addUploadPart", "cancelUpload", "completeUpload", "createUpload", "downloadFile", "retrieveFile"}
	if !slices.Equal(ids, want) {
		t.Errorf("extracted operations = %v, want %v", ids, want)
	}
	for _, name := range []string{"OpenAIFile", "Upload", "FileExpirationAfter"} {
		if extract.schema(name) == nil {
			t.Errorf("the extract lacks the schema %s, which the operations reach", name)
		}
	}
	for _, name := range []string{"DeleteFileResponse", "ListFilesResponse"} {
		if extract.schema(name) != nil {
			t.Errorf("the extract has the schema %s, which no extracted operation reaches", name)
		}
	}
	if extract.components("securitySchemes")["ApiKeyAuth"] == nil {
		t.Error("the extract lacks the security scheme the document requires")
	}
	fromFull, err := Compare(ours, full, catalog.Names)
	if err != nil {
		t.Fatal(err)
	}
	fromExtract, err := Compare(ours, extract, catalog.Names)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fromFull, fromExtract) {
		t.Errorf("the extract compares differently from the whole document:\n%v\n%v", fromExtract, fromFull)
	}
}
