package uploads_test

import (
	"encoding/json"
	"testing"

	"github.com/uploadkit/uploads"
)

// TestOnePurposeType: an Upload's purpose, its File's and a create request's are one type, so they
// compare with each other and with the same constants.
func TestOnePurposeType(t *testing.T) {
	var up uploads.Upload
	body := `{"id":"upload_1","object":"upload","bytes":2,"created_at":1,"filename":"a.jsonl","purpose":"fine-tune",
		"status":"completed","expires_at":3601,"file":{"id":"file-1","object":"file","bytes":2,"created_at":2,
		"filename":"a.jsonl","purpose":"fine-tune","status":"processed","expires_at":null,"status_details":null}}`
	if err := json.Unmarshal([]byte(body), &up); err != nil {
		t.Fatal(err)
	}
	params := uploads.CreateParams{Purpose: uploads.PurposeFineTune}
	if up.Purpose != uploads.PurposeFineTune || up.File.Purpose != up.Purpose || params.Purpose != up.File.Purpose {
		t.Errorf("purposes: upload %q, file %q, params %q", up.Purpose, up.File.Purpose, params.Purpose)
	}
	if uploads.FilePurposeFineTune != uploads.PurposeFineTune {
		t.Error("FilePurposeFineTune and PurposeFineTune differ")
	}
}
