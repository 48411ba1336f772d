package conformance

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWriteNewNeverOverwrites writes three recordings under one name: each gets its own file.
func TestWriteNewNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	for _, data := range []string{"first", "second", "third"} {
		if err := writeNew(dir, "20260101T000000.000Z-cancelUpload-200", []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{
		"20260101T000000.000Z-cancelUpload-200.json":   "first",
		"20260101T000000.000Z-cancelUpload-200-2.json": "second",
		"20260101T000000.000Z-cancelUpload-200-3.json": "third",
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		got, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || string(got) != want[e.Name()] {
			t.Errorf("%s holds %q (%v), want %q", e.Name(), got, err, want[e.Name()])
		}
	}
	if len(names) != len(want) {
		t.Errorf("files %v, want exactly %d (no temporary file left)", names, len(want))
	}
}
