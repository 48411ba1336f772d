package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const root = "../../../../"

func TestRun(t *testing.T) {
	tests := []struct {
		fixture string
		wantErr error
		wantOut string
	}{
		{"known-divergences.yaml", nil, "0 not listed"},
		{"new-field.yaml", errUnlisted, "NOT LISTED  schema.Upload.properties.upload_url: ours absent, upstream present"},
		{"removed-enum-value.yaml", errUnlisted, "NOT LISTED  schema.Upload.properties.status.enum.expired: ours present, upstream absent"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			extract := filepath.Join(t.TempDir(), "extract.yaml")
			var out bytes.Buffer
			err := run(context.Background(), []string{
				"-upstream", root + "testdata/upstream/" + tt.fixture,
				"-spec", root + "openapi/uploads.yaml",
				"-divergences", root + "openapi/DIVERGENCES.md",
				"-extract", extract,
			}, &out)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("run: err = %v, want %v\n%s", err, tt.wantErr, out.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output does not contain %q:\n%s", tt.wantOut, out.String())
			}
			data, err := os.ReadFile(extract)
			if err != nil || !bytes.Contains(data, []byte("operationId: createUpload")) {
				t.Errorf("extract: %v\n%s", err, data)
			}
		})
	}
}

func TestRunReportsBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.md")
	if err := os.WriteFile(bad, []byte("| Key | Ours | Upstream | Reason |\n|---|---|---|---|\n| `a` | `1` | `2` | |\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := root + "openapi/uploads.yaml"
	fixture := root + "testdata/upstream/known-divergences.yaml"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no upstream", []string{"-spec", spec}, "-upstream FILE"},
		{"missing upstream", []string{"-spec", spec, "-upstream", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"upstream not OpenAPI", []string{"-spec", spec, "-upstream", bad}, "decode YAML"},
		{"bad divergences", []string{"-spec", spec, "-upstream", fixture, "-divergences", bad}, "has no reason"},
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
