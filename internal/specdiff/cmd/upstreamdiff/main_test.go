package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const root = "../../../../"

// writeFile writes a file in a temporary directory and returns its path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(root + "testdata/upstream/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRun(t *testing.T) {
	current := fixture(t, "current.yaml")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(current); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	caughtUp := bytes.Replace(current, []byte("expires_at: {type: integer, format: unixtime}\n        filename"),
		[]byte("expires_at: {type: [integer, \"null\"], format: unixtime}\n        filename"), 1)
	if bytes.Equal(caughtUp, current) {
		t.Fatal("the fixture no longer has the File's expires_at as this test expects")
	}
	tests := []struct {
		name     string
		upstream string
		wantErr  error
		wantOut  []string
	}{
		{"current", writeFile(t, "openapi.yaml", current), nil, []string{"(OpenAPI 3.1.0, API version 2.3.0)", "0 not listed"}},
		{"current, gzipped", writeFile(t, "openapi.yaml.gz", gz.Bytes()), nil, []string{"0 not listed"}},
		{"older", root + "testdata/upstream/older.yaml", errUnlisted, []string{
			"3 not listed",
			"NOT LISTED  schema.CreateUploadRequest.properties.expires_after: ours present, upstream absent",
			"| `schema.FileObject.properties.expires_at` | `present` | `absent` | <why the spec differs> |",
		}},
		{"newer", root + "testdata/upstream/newer.yaml", errUnlisted, []string{
			"NOT LISTED  schema.Upload.name: ours Upload, upstream UploadObject",
			"| schema | Upload | UploadObject |",
			"| operation | cancelUpload | cancelUploadRequest |",
			"| `operation.completeUpload.path` | `POST /uploads/{upload_id}/complete` | `POST /uploads/{upload_id}/completion` |",
		}},
		{"a row gone stale", writeFile(t, "openapi.yaml", caughtUp), errStale, []string{
			"0 not listed",
			"schema.FileObject.properties.expires_at.nullable: ours true, upstream absent",
			"remove each row",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extract := filepath.Join(t.TempDir(), "extract.yaml")
			var out bytes.Buffer
			err := run(context.Background(), []string{
				"-upstream", tt.upstream,
				"-spec", root + "openapi/uploads.yaml",
				"-divergences", root + "openapi/DIVERGENCES.md",
				"-extract", extract,
			}, &out)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("run: err = %v, want %v\n%s", err, tt.wantErr, out.String())
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output does not contain %q:\n%s", want, out.String())
				}
			}
			data, err := os.ReadFile(extract)
			if err != nil || !bytes.Contains(data, []byte("operationId: createUpload")) {
				t.Errorf("extract: %v\n%s", err, data)
			}
		})
	}
}

// -documentation compares the prose too: the fixture's words are its own, so it differs.
func TestRunDocumentation(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{
		"-upstream", root + "testdata/upstream/current.yaml",
		"-spec", root + "openapi/uploads.yaml",
		"-divergences", root + "openapi/DIVERGENCES.md",
		"-documentation",
	}, &out)
	if !errors.Is(err, errUnlisted) || !strings.Contains(out.String(), "NOT LISTED  operation.createUpload.summary: ours ") {
		t.Errorf("run: err = %v, want the summaries compared:\n%s", err, out.String())
	}
}

func TestRunReportsBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.md")
	if err := os.WriteFile(bad, []byte("| Key | Ours | Upstream | Reason |\n|---|---|---|---|\n| `a` | `1` | `2` | |\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notGzip := writeFile(t, "openapi.yaml.gz", []byte{0x1f, 0x8b, 0, 1, 2})
	spec := root + "openapi/uploads.yaml"
	current := root + "testdata/upstream/current.yaml"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no upstream", []string{"-spec", spec}, "-upstream FILE"},
		{"a URL", []string{"-spec", spec, "-upstream", "https://example.com/openapi.yaml"}, "save the document to a file first"},
		{"missing upstream", []string{"-spec", spec, "-upstream", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"upstream not OpenAPI", []string{"-spec", spec, "-upstream", bad}, "bad.md"},
		{"upstream broken gzip", []string{"-spec", spec, "-upstream", notGzip}, "decompress"},
		{"bad divergences", []string{"-spec", spec, "-upstream", current, "-divergences", bad}, "has no reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run: err = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
