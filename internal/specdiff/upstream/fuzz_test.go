package upstream

import (
	"os"
	"testing"
)

// FuzzCompare gives the comparison any document as the published one: it is loaded or refused,
// never a panic, and each difference found is one, on one line.
func FuzzCompare(f *testing.F) {
	for _, name := range []string{"current.yaml", "older.yaml", "newer.yaml"} {
		data, err := os.ReadFile("../../../testdata/upstream/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/uploads": {"post": {"operationId": "createUpload", "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"anyOf": [{"$ref": "#/components/schemas/U"}, {"type": "null"}]}}}}}}}}, "components": {"schemas": {"U": {"allOf": [{"$ref": "#/components/schemas/U"}]}}}}`))
	spec, err := os.ReadFile("../../../openapi/uploads.yaml")
	if err != nil {
		f.Fatal(err)
	}
	ours, err := Parse(spec)
	if err != nil {
		f.Fatal(err)
	}
	catalog, err := ParseCatalog(mustRead(f, "../../../openapi/DIVERGENCES.md"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		theirs, err := Parse(data)
		if err != nil {
			return
		}
		diffs, err := Compare(ours, theirs, Options{Names: catalog.Names, Whole: whole, Documentation: len(data)%2 == 0})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[Difference]bool{}
		for _, d := range diffs {
			if d.Key == "" || d.Ours == d.Upstream || seen[d] {
				t.Errorf("%q is not one difference", d)
			}
			seen[d] = true
		}
		_, _ = Extract(ours, theirs, catalog.Names)
	})
}

func mustRead(f *testing.F, path string) []byte {
	f.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return data
}
