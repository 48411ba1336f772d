package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/conformance"
)

// TestRecordFlag runs put and a failing cancel with --record: every exchange of both is written to
// the directory, each passes the spec check, and none holds the API key.
func TestRecordFlag(t *testing.T) {
	ts := newTestServer(t)
	dir := filepath.Join(t.TempDir(), "session") // created by --record
	path, _ := writeRandomFile(t, "train.jsonl", 10*1024)
	vars := map[string]string{"OPENAI_API_KEY": testKey, "OPENAI_BASE_URL": ts.URL}
	runCommand := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		env := environment{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
		return run(t.Context(), append([]string{"--record", dir}, args...), env), stderr.String()
	}
	if code, stderr := runCommand("put", path, "--purpose", "fine-tune", "--part-size", "4KiB", "--json"); code != exitOK {
		t.Fatalf("put --record: exit %d: %s", code, stderr)
	}
	if code, stderr := runCommand("cancel", "upload_doesnotexist"); code != 1 {
		t.Fatalf("cancel of an unknown upload: exit %d, want 1: %s", code, stderr)
	}

	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	// create, three parts, complete, and the cancel.
	if len(files) != 6 {
		t.Fatalf("%d recordings, want 6: %v", len(files), files)
	}
	v, err := conformance.New(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	found404 := false
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(testKey)) {
			t.Errorf("%s holds the API key", f)
		}
		found404 = found404 || strings.HasSuffix(f, "-cancelUpload-404.json")
		failures, err := v.CheckExchangeFile(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, fl := range failures {
			t.Errorf("%s: %s", f, fl)
		}
	}
	if !found404 {
		t.Errorf("the failed cancel was not recorded: %v", files)
	}
}
