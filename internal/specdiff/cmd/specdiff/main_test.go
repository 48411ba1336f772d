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

// TestRun drives the command as `make spec-diff` does, with a base file standing in for the
// spec at a git ref: the base has a field the spec lacks, so the spec removed it.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	spec, err := os.ReadFile("../../../../openapi/uploads.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The base has one more response field than the spec: to the guard, the spec removed it.
	const anchor = "        filename:\n          type: string\n          description: The name of the file to be uploaded.\n"
	if !bytes.Contains(spec, []byte(anchor)) {
		t.Fatal("the spec no longer has the Upload.filename lines this test anchors on")
	}
	base := bytes.Replace(spec, []byte(anchor), []byte("        region:\n          type: string\n"+anchor), 1)
	write := func(name, content string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	specPath := write("uploads.yaml", string(spec))
	basePath := write("base.yaml", string(base))
	empty := write("empty.md", "# Changelog\n\n## Unreleased\n\n### Breaking\n\nNone.\n")
	listed := write("listed.md", "# Changelog\n\n## Unreleased\n\n### Breaking\n\n- `Upload.region` is gone. `response-optional-property-removed POST * region 200`\n")

	tests := []struct {
		name      string
		base      string
		changelog string
		wantErr   error
		wantOut   string
	}{
		{"no change passes", specPath, empty, nil, "No changes."},
		{"removed field fails", basePath, empty, errBreaking, "UNLISTED  response-optional-property-removed POST /uploads region 200"},
		{"removed field listed passes", basePath, listed, nil, "listed    response-optional-property-removed POST /uploads region 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), []string{"-base", tt.base, "-spec", specPath, "-changelog", tt.changelog}, &out)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("run: err = %v, want %v\n%s", err, tt.wantErr, out.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output does not contain %q:\n%s", tt.wantOut, out.String())
			}
		})
	}
}

func TestRunReportsBadInput(t *testing.T) {
	dir := t.TempDir()
	noUnreleased := filepath.Join(dir, "CHANGELOG.md")
	if err := os.WriteFile(noUnreleased, []byte("# Changelog\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := "../../../../openapi/uploads.yaml"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing spec", []string{"-spec", filepath.Join(dir, "nope.yaml"), "-base", spec}, "read the spec"},
		{"missing base", []string{"-spec", spec, "-base", filepath.Join(dir, "nope.yaml")}, "read the base spec"},
		{"missing changelog", []string{"-spec", spec, "-base", spec, "-changelog", filepath.Join(dir, "nope.md")}, "read the changelog"},
		{"changelog without Unreleased", []string{"-spec", spec, "-base", spec, "-changelog", noUnreleased}, "Unreleased"},
		{"unknown git ref", []string{"-spec", "openapi/uploads.yaml", "-repo", "../../../..", "-base-ref", "no-such-ref-anywhere", "-changelog", noUnreleased}, "no-such-ref-anywhere"},
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
