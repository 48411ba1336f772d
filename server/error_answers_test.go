package server

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/openapi"
)

// TestErrorAnswersAreDocumented is the compiler's check, extended to statuses: every error answer
// is an apiError written by writeError, whose body is gen.ErrorResponse (generated from the spec,
// so its shape is the spec's). What the compiler cannot see is the status. This test reads the
// statuses of every apiError the package builds and fails unless each operation documents it (a
// 5xx is covered by the spec's 5XX), except where the status belongs to one operation only.
func TestErrorAnswersAreDocumented(t *testing.T) {
	// The statuses an apiError may carry, by their net/http names, and the operations that answer
	// them (nil: any operation).
	known := map[string]struct {
		code string
		ops  []string
	}{
		"StatusBadRequest":            {"400", nil},
		"StatusUnauthorized":          {"401", nil},
		"StatusNotFound":              {"404", nil},
		"StatusRequestEntityTooLarge": {"413", []string{opAddUploadPart}},
		"StatusTooManyRequests":       {"429", nil},
		"StatusInternalServerError":   {"500", nil},
		"StatusBadGateway":            {"5XX", nil},
		"StatusServiceUnavailable":    {"5XX", nil},
		"StatusInsufficientStorage":   {"5XX", nil},
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	status := regexp.MustCompile(`Status:\s+http\.(Status\w+)`)
	used := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range status.FindAllSubmatch(src, -1) {
			used[string(m[1])] = true
		}
	}
	if !used["StatusBadRequest"] || !used["StatusNotFound"] {
		t.Fatalf("found only %v: the pattern no longer finds the apiError literals", used)
	}

	doc, err := openapi.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for name := range used {
		k, ok := known[name]
		if !ok {
			t.Errorf("an apiError answers http.%s, which this test does not know: add it, and document it in the spec", name)
			continue
		}
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				if k.ops != nil && !slices.Contains(k.ops, op.OperationID) {
					continue
				}
				if op.Responses.Value(k.code) == nil {
					t.Errorf("%s %s (%s) does not document %s, which the server answers with (http.%s)",
						method, path, op.OperationID, k.code, name)
				}
			}
		}
	}
	// The body: writeError writes apiError.envelope(), a gen.ErrorResponse. Every error response
	// of the spec must be that schema, or the compiler's check proves nothing.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code, ref := range op.Responses.Map() {
				if code[0] != '4' && code[0] != '5' {
					continue
				}
				media := ref.Value.Content.Get("application/json")
				if media == nil || media.Schema == nil || !strings.HasSuffix(media.Schema.Ref, "/ErrorResponse") {
					t.Errorf("%s %s answers %s with something other than the ErrorResponse schema", method, path, code)
				}
			}
		}
	}
}
