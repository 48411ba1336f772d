package openapi_test

import (
	"context"
	"testing"

	"github.com/uploadkit/uploads/openapi"
)

func TestSpecLoadsAndValidates(t *testing.T) {
	doc, err := openapi.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"createUpload", "addUploadPart", "completeUpload", "cancelUpload", "listFiles", "retrieveFile", "downloadFile", "deleteFile"}
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
