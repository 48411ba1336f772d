package uploads_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/conformance"
	"github.com/uploadkit/uploads/openapi"
)

// exchangeDir holds one exchange per file; testdata/exchanges/README.md documents the format.
const exchangeDir = "testdata/exchanges"

// exchangesDir is the directory TestExchanges checks: testdata/exchanges, or the one
// UPLOADS_EXCHANGES names (`make conformance EXCHANGES=DIR` sets it), such as a directory of
// recordings made with conformance.NewRecorder.
func exchangesDir() string {
	if dir := os.Getenv("UPLOADS_EXCHANGES"); dir != "" {
		return dir
	}
	return exchangeDir
}

func loadExchange(t *testing.T, path string) *conformance.Exchange {
	t.Helper()
	ex, err := conformance.ReadExchange(path)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// buildRequest turns the request of an exchange into an *http.Request.
func buildRequest(t *testing.T, ex *conformance.Exchange) *http.Request {
	t.Helper()
	r, err := ex.NewRequest(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func exchangeFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no exchanges in %s (%v)", dir, err)
	}
	return files
}

func newValidator(t *testing.T) *conformance.Validator {
	t.Helper()
	v, err := conformance.New(t.Context())
	if err != nil {
		t.Fatalf("load the spec: %v", err)
	}
	return v
}

// TestExchanges validates every exchange under testdata/exchanges (or UPLOADS_EXCHANGES) against
// the spec: valid ones must pass, and invalid ones must be rejected on the named side with exactly
// the named errors. A failing file is reported by its name, then each way it fails.
func TestExchanges(t *testing.T) {
	v := newValidator(t)
	for _, path := range exchangeFiles(t, exchangesDir()) {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".json"), func(t *testing.T) {
			t.Parallel()
			failures, err := v.CheckExchangeFile(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			if len(failures) > 0 {
				t.Errorf("%s:\n%s", path, listFailures(failures))
			}
		})
	}
}

func listFailures(fs []conformance.Failure) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "\t%s\n", f)
	}
	return b.String()
}

func list(is []issue) string {
	var b strings.Builder
	for _, i := range is {
		fmt.Fprintf(&b, "\t%s\n", i)
	}
	return b.String()
}

// TestExchangeCoverage keeps the exchanges complete: every operation has a valid exchange and at
// least three that must be rejected, and every recorded body and header file is used.
func TestExchangeCoverage(t *testing.T) {
	doc, err := openapi.Load(t.Context())
	if err != nil {
		t.Fatalf("load the spec: %v", err)
	}
	valid, invalid := map[string]int{}, map[string]int{}
	used := map[string]bool{}
	for _, path := range exchangeFiles(t, exchangeDir) {
		ex := loadExchange(t, path)
		for _, f := range []string{ex.HeadersFile, ex.Request.BodyFile, responseBodyFile(ex)} {
			if f != "" {
				used[filepath.Clean(filepath.Join(filepath.Dir(path), f))] = true
			}
		}
		switch {
		case ex.Expect != nil:
			invalid[ex.Operation]++
		case ex.Response != nil && ex.Response.Status/100 == 2:
			valid[ex.Operation]++
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if valid[op.OperationID] == 0 {
				t.Errorf("operation %s has no valid exchange with a 2xx response in %s", op.OperationID, exchangeDir)
			}
			if invalid[op.OperationID] < 3 {
				t.Errorf("operation %s has %d exchanges that must be rejected in %s, want at least 3", op.OperationID, invalid[op.OperationID], exchangeDir)
			}
		}
	}
	recorded, err := filepath.Glob("testdata/recorded/*.json")
	if err != nil {
		t.Fatal(err)
	}
	headers, err := filepath.Glob("testdata/recorded/headers/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(recorded) == 0 {
		t.Fatal("no recorded bodies in testdata/recorded")
	}
	for _, f := range append(recorded, headers...) {
		if !used[filepath.Clean(f)] {
			t.Errorf("%s is used by no exchange in %s", f, exchangeDir)
		}
	}
}

func responseBodyFile(ex *conformance.Exchange) string {
	if ex.Response == nil {
		return ""
	}
	return ex.Response.BodyFile
}
