package uploads_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uploadkit/uploads"
	"github.com/uploadkit/uploads/conformance"
)

// TestRecordedPartIsThePartsDigest adds a part of known bytes through the Recorder against the
// reference server, and requires the recording to give the part's own size and SHA-256 (not the
// multipart form's), to keep the form's shape so that the check still validates it, and to fail the
// check when the part's field is taken out of the form.
func TestRecordedPartIsThePartsDigest(t *testing.T) {
	base := startReferenceAPI(t)
	dir := t.TempDir()
	rec, err := conformance.NewRecorder(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"} {
		t.Setenv(k, "")
	}
	client, err := uploads.NewClient(uploads.WithBaseURL(base), uploads.WithAPIKey(recordKey),
		uploads.WithHTTPClient(&http.Client{Transport: rec}))
	if err != nil {
		t.Fatal(err)
	}
	const size = 4_360_000
	part := bytes.Repeat([]byte("0123456789abcdefghij"), size/20)
	up, err := client.Create(t.Context(), uploads.CreateParams{Filename: "a.jsonl", Purpose: uploads.PurposeBatch,
		Bytes: size, MIMEType: "text/jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.AddPart(t.Context(), up.ID, bytes.NewReader(part)); err != nil {
		t.Fatal(err)
	}
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*-addUploadPart-200.json"))
	if len(files) != 1 {
		t.Fatalf("%d recordings of the part, want 1", len(files))
	}
	ex, err := conformance.ReadExchange(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if ex.Request.BodyDigest != nil {
		t.Errorf("the part's request is recorded as a digest of the whole form (%d bytes), not as its form", ex.Request.BodyDigest.Bytes)
	}
	sum := sha256.Sum256(part)
	if len(ex.Request.Form) != 1 {
		t.Fatalf("the form is recorded as %d fields, want the one data field: %+v", len(ex.Request.Form), ex.Request.Form)
	}
	f := ex.Request.Form[0]
	if f.Name != "data" || f.Value != nil || f.Digest == nil {
		t.Fatalf("the part's field is recorded as %+v, want data with a digest", f)
	}
	if f.Digest.Bytes != size || f.Digest.SHA256 != hex.EncodeToString(sum[:]) || f.Digest.Partial {
		t.Errorf("the part is recorded as %d bytes with SHA-256 %s (partial %v), want %d bytes with %x",
			f.Digest.Bytes, f.Digest.SHA256, f.Digest.Partial, size, sum)
	}
	raw, _ := os.ReadFile(files[0])
	if bytes.Contains(raw, part[:40]) {
		t.Error("the part's bytes reached the recording")
	}

	v, err := conformance.New(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if failures, err := v.CheckExchangeFile(t.Context(), files[0]); err != nil || len(failures) != 0 {
		t.Fatalf("the recording fails the check: %v %v", err, failures)
	}

	// The same recording with its data field renamed must fail the check, naming that field: the
	// form's shape is checked, not taken on trust.
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["request"].(map[string]any)["form"].([]any)[0].(map[string]any)["name"] = "payload"
	mutated, _ := json.Marshal(doc)
	bad := filepath.Join(t.TempDir(), "mutated.json")
	if err := os.WriteFile(bad, mutated, 0o644); err != nil {
		t.Fatal(err)
	}
	failures, err := v.CheckExchangeFile(t.Context(), bad)
	if err != nil {
		t.Fatal(err)
	}
	var named bool
	for _, f := range failures {
		if f.Side == "request" && strings.Contains(f.Message, "payload") {
			named = true
		}
	}
	if !named {
		t.Errorf("a form whose field is not data passes, or fails without naming it: %v", failures)
	}
}
