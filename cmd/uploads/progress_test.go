package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/uploadkit/uploads"
)

func TestBarViewDrawsBytesAndParts(t *testing.T) {
	var out bytes.Buffer
	view := newProgressView(&out, false, progressBar, false, "train.jsonl", 3<<20)
	for i := 1; i <= 3; i++ {
		view.update(uploads.Progress{UploadID: "upload_x", Sent: int64(i) << 20, Total: 3 << 20, PartsDone: i, Parts: 3})
	}
	view.finish(true)
	got := out.String()
	for _, want := range []string{"train.jsonl", "3.0 MiB / 3.0 MiB", "parts 3/3", "done"} {
		if !strings.Contains(got, want) {
			t.Errorf("bar does not show %q:\n%q", want, got)
		}
	}
}
