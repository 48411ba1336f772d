// Package regen_test proves the whole chain from the spec to the type users see: a field added
// to the spec reaches uploads.Upload through `go generate` alone, and the client decodes it.
package regen_test

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// newField is added to Upload in a copy of the spec: an optional string.
const (
	newField   = "retention_region"
	newGoField = "RetentionRegion"
)

// uploadSchema is where the field goes: the first line of the Upload schema's properties.
const uploadSchema = "    Upload:\n"

// skipped holds the directories that are not part of the module's source: version control,
// local data and installed tools.
var skipped = map[string]bool{".git": true, "node_modules": true, ".tools": true}

// skippedAtRoot holds the directories skipped only at the module root.
var skippedAtRoot = map[string]bool{"data": true, "bin": true}

// userProgram is a test written into the copy, in the module's root package as a user would
// see it: it reads the new field from uploads.Upload, decoded by the client from a response.
const userProgram = `package uploads_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/uploadkit/uploads"
)

func TestRegeneratedField(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/uploads/upload_abc/cancel") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(` + "`" + `{"id": "upload_abc", "object": "upload", "bytes": 8, "created_at": 1758145015,
			"expires_at": 1758148615, "filename": "a.jsonl", "purpose": "fine-tune", "status": "cancelled",
			"retention_region": "eu-west"}` + "`" + `))
	}))
	defer srv.Close()

	client, err := uploads.NewClient(uploads.WithAPIKey("sk-test"), uploads.WithBaseURL(srv.URL+"/v1"))
	if err != nil {
		t.Fatal(err)
	}
	var up *uploads.Upload
	up, err = client.Cancel(context.Background(), "upload_abc")
	if err != nil {
		t.Fatal(err)
	}
	if up.RetentionRegion == nil || *up.RetentionRegion != "eu-west" {
		t.Fatalf("Upload.RetentionRegion = %v, want eu-west", up.RetentionRegion)
	}
	// Optional, so a pointer that stays nil when the key is absent.
	region := "us-east"
	_ = uploads.Upload{RetentionRegion: &region}
}
`

// TestRegenerateWithNewField copies the module, adds an optional field to Upload in the spec,
// runs go generate, builds everything, and runs a user's test that reads the field.
func TestRegenerateWithNewField(t *testing.T) {
	if testing.Short() {
		t.Skip("copies the module and regenerates it; run without -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	root := strings.TrimSuffix(strings.TrimSpace(goRun(ctx, t, goBin, ".", "env", "GOMOD")), "go.mod")
	if root == "" {
		t.Fatal("not inside a module")
	}
	dir := t.TempDir()
	copyModule(t, root, dir)

	specPath := filepath.Join(dir, "openapi", "uploads.yaml")
	spec, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(specPath, addUploadField(t, spec), 0o644); err != nil {
		t.Fatal(err)
	}

	goRun(ctx, t, goBin, dir, "generate", "./...")
	models, err := os.ReadFile(filepath.Join(dir, "gen", "models.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\b` + newGoField + `\s+\*string\b`).Match(models) {
		t.Fatalf("go generate did not add %s *string to gen/models.gen.go", newGoField)
	}
	goRun(ctx, t, goBin, dir, "build", "./...")

	if err := os.WriteFile(filepath.Join(dir, "regenerated_field_test.go"), []byte(userProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	out := goRun(ctx, t, goBin, dir, "test", "-count=1", "-run", "^TestRegeneratedField$", "-v", ".")
	if !strings.Contains(out, "--- PASS: TestRegeneratedField") {
		t.Fatalf("the user's test did not run:\n%s", out)
	}
}

// addUploadField inserts the new optional field as the first property of the Upload schema.
func addUploadField(t *testing.T, spec []byte) []byte {
	t.Helper()
	text := string(spec)
	start := strings.Index(text, uploadSchema)
	if start < 0 {
		t.Fatalf("the spec has no line %q", uploadSchema)
	}
	const properties = "      properties:\n"
	at := strings.Index(text[start:], properties)
	if at < 0 {
		t.Fatal("the Upload schema has no properties")
	}
	at += start + len(properties)
	field := "        " + newField + ":\n" +
		"          type: string\n" +
		"          description: Where the file is kept.\n"
	return []byte(text[:at] + field + text[at:])
}

// copyModule copies the module's source files from src to dst.
func copyModule(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skipped[d.Name()] || (filepath.Dir(rel) == "." && skippedAtRoot[d.Name()]) {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy the module: %v", err)
	}
}

// goRun runs the go command in dir with the caller's caches and returns its combined output.
func goRun(ctx context.Context, t *testing.T, goBin, dir string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}
