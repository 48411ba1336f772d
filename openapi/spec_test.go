package openapi_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/openapi"
)

func TestSpecLoadsAndValidates(t *testing.T) {
	doc, err := openapi.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"createUpload", "addUploadPart", "completeUpload", "cancelUpload", "retrieveFile", "downloadFile"}
	have := map[string]bool{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			have[op.OperationID] = true
		}
	}
	for _, id := range want {
		if !have[id] {
			t.Errorf("operation %s is missing from the spec", id)
		}
	}
	if len(have) != len(want) {
		t.Errorf("spec has %d operations, want %d: %v", len(have), len(want), have)
	}
}

// TestGeneratedCodeIsCurrent fails when uploads.yaml changed but gen/ was not regenerated: gen/
// embeds the spec it was generated from, so the two must be the same document.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	ctx := context.Background()
	doc, err := openapi.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := gen.GetSpec()
	if err != nil {
		t.Fatalf("load the spec embedded in gen/: %v", err)
	}
	a, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(embedded)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Fatal("gen/ was generated from another version of openapi/uploads.yaml: run `make generate` and commit gen/")
	}
}
