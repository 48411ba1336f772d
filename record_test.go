package uploads_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uploadkit/uploads"
	"github.com/uploadkit/uploads/conformance"
	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store/sqlitestore"
)

// recordKey, recordOrganization and recordProject must never reach a recording.
const (
	recordKey          = "sk-proj-recording0123456789abcdefSECRET"
	recordOrganization = "org-recordingsecretorg"
	recordProject      = "proj_recordingsecretproject"
)

// startReferenceAPI serves the reference server on a store in a temporary directory and returns its
// base URL.
func startReferenceAPI(t *testing.T) string {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{
		Store:         st,
		APIKeys:       []string{recordKey},
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		SweepInterval: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
		st.Close()
	})
	return hs.URL + "/v1"
}

// recordSession records a whole UploadFile lifecycle, the File it made and its content, and an
// error, through our client against the reference server, and returns the directory of recordings.
func recordSession(t *testing.T) string {
	t.Helper()
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
		uploads.WithOrganization(recordOrganization), uploads.WithProject(recordProject),
		uploads.WithHTTPClient(&http.Client{Transport: rec}))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "train.jsonl")
	content := bytes.Repeat([]byte(`{"prompt":"recorded","completion":"part"}`+"\n"), 1000)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	up, err := client.UploadFile(t.Context(), path, uploads.UploadFileParams{Purpose: uploads.PurposeFineTune, PartSize: 16 << 10, MD5: true})
	if err != nil {
		t.Fatalf("UploadFile: %v", err)
	}
	if _, err := client.RetrieveFile(t.Context(), up.File.ID); err != nil {
		t.Fatalf("RetrieveFile: %v", err)
	}
	body, err := client.DownloadFile(t.Context(), up.File.ID)
	if err != nil {
		t.Fatalf("DownloadFile: %v", err)
	}
	if got, err := io.ReadAll(body); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("DownloadFile gave %d bytes (%v), want the %d uploaded", len(got), err, len(content))
	}
	body.Close()
	if _, err := client.Cancel(t.Context(), "upload_doesnotexist"); !uploads.IsNotFound(err) {
		t.Fatalf("Cancel of an unknown upload: %v, want not found", err)
	}
	if err := rec.Err(); err != nil {
		t.Fatalf("recording: %v", err)
	}
	return dir
}

// TestRecordedSessionConforms records a session through our client against the reference server:
// every recording passes the check `make conformance` runs, and none holds the key, organization,
// project or uploaded bytes.
func TestRecordedSessionConforms(t *testing.T) {
	dir := recordSession(t)
	v := newValidator(t)
	ops := map[string]int{}
	for _, path := range exchangeFiles(t, dir) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{recordKey, recordOrganization, recordProject, `"completion":"part"`} {
			if bytes.Contains(raw, []byte(secret)) {
				t.Errorf("%s holds %q", path, secret)
			}
		}
		ex := loadExchange(t, path)
		ops[ex.Operation]++
		failures, err := v.CheckExchangeFile(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		if len(failures) > 0 {
			t.Errorf("%s:\n%s", path, listFailures(failures))
		}
	}
	// 41,000 bytes in 16 KiB parts: three parts; the unknown upload's cancel is the error.
	want := map[string]int{"createUpload": 1, "addUploadPart": 3, "completeUpload": 1, "retrieveFile": 1, "downloadFile": 1, "cancelUpload": 1}
	for op, n := range want {
		if ops[op] != n {
			t.Errorf("%d recordings of %s, want %d (all: %v)", ops[op], op, n, ops)
		}
	}
}

// TestMakeConformanceNamesFileAndField runs the check of `make conformance EXCHANGES=DIR` on a
// recorded session whose completion was mutated (a status of "paused", the id left out): it must
// fail, naming the file and each field.
func TestMakeConformanceNamesFileAndField(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the tests of this package again")
	}
	if os.Getenv("UPLOADS_EXCHANGES") != "" {
		t.Skip("running inside make conformance")
	}
	dir := recordSession(t)
	var mutated string
	for _, path := range exchangeFiles(t, dir) {
		if !strings.Contains(path, "-completeUpload-200") {
			continue
		}
		ex := loadExchange(t, path)
		var body map[string]any
		if err := json.Unmarshal(ex.Response.Body, &body); err != nil {
			t.Fatal(err)
		}
		body["status"] = "paused"
		delete(body, "id")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var file map[string]any
		if err := json.Unmarshal(raw, &file); err != nil {
			t.Fatal(err)
		}
		file["response"].(map[string]any)["body"] = body
		out, err := json.MarshalIndent(file, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		mutated = path
	}
	if mutated == "" {
		t.Fatal("no completeUpload recording to mutate")
	}

	cmd := exec.Command("go", "test", "-count=1", "-run", "^TestExchanges$", ".")
	cmd.Env = append(os.Environ(), "UPLOADS_EXCHANGES="+dir)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the check passed a mutated recording:\n%s", out)
	}
	for _, want := range []string{
		mutated + ":",
		"body /status: value is not one of the allowed values",
		`property "id" is missing`,
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("the output does not name %q:\n%s", want, out)
		}
	}
	if n := bytes.Count(out, []byte("--- FAIL: TestExchanges/")); n != 1 {
		t.Errorf("%d files failed, want only the mutated one:\n%s", n, out)
	}
}
