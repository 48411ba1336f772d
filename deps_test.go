package uploads_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// leanDependencies are the only packages outside the standard library that a program importing
// just this package links: the package itself, its generated client and models, the API limits, and the
// generator's runtime with what it needs. The OpenAPI loader, the validator and the YAML parser
// belong to conformance/, openapi/ and server/, which a client never imports.
var leanDependencies = []string{
	"github.com/uploadkit/uploads",
	"github.com/uploadkit/uploads/gen",
	"github.com/uploadkit/uploads/internal/limits",
	"github.com/oapi-codegen/runtime",
	"github.com/oapi-codegen/runtime/types",
	"github.com/apapsch/go-jsonmerge/v2",
	"github.com/google/uuid",
}

// TestClientDependenciesStayLean fails when the client package starts to link a package outside
// the standard library that leanDependencies does not list. Growing the list is a decision: each
// entry ends up in every user's binary and in their go.mod.
func TestClientDependenciesStayLean(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the client's dependencies: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		"github.com/uploadkit/uploads").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	var extra []string
	for _, pkg := range strings.Fields(string(out)) {
		if !slices.Contains(leanDependencies, pkg) {
			extra = append(extra, pkg)
		}
	}
	if len(extra) > 0 {
		t.Errorf("the client package links %d packages outside its allow-list (leanDependencies):\n\t%s",
			len(extra), strings.Join(extra, "\n\t"))
	}
}
