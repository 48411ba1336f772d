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

func TestLineViewWritesOneLinePerPart(t *testing.T) {
	var out bytes.Buffer
	view := newProgressView(&out, false, progressAuto, true, "a.jsonl", 3<<20)
	for _, p := range []uploads.Progress{
		{UploadID: "upload_x", Sent: 1 << 19, Total: 3 << 20, Parts: 3},
		{UploadID: "upload_x", Sent: 1 << 20, Total: 3 << 20, Parts: 3},
		{UploadID: "upload_x", Sent: 1 << 20, Total: 3 << 20, PartsDone: 1, Parts: 3},
		{UploadID: "upload_x", Sent: 3 << 20, Total: 3 << 20, PartsDone: 1, Parts: 3},
		{UploadID: "upload_x", Sent: 3 << 20, Total: 3 << 20, PartsDone: 3, Parts: 3},
	} {
		view.update(p)
	}
	view.finish(true)
	want := "upload upload_x: sending 3.0 MiB in 3 parts\n" +
		"upload upload_x: part 1 of 3 sent (1.0 MiB of 3.0 MiB)\n" +
		"upload upload_x: part 2 of 3 sent (3.0 MiB of 3.0 MiB)\n" +
		"upload upload_x: part 3 of 3 sent (3.0 MiB of 3.0 MiB)\n"
	if out.String() != want {
		t.Errorf("lines:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestQuietWithoutTerminal(t *testing.T) {
	var out bytes.Buffer
	for _, mode := range []progressMode{progressAuto, progressNone} {
		view := newProgressView(&out, false, mode, false, "a.jsonl", 100)
		view.update(uploads.Progress{UploadID: "upload_x", Sent: 100, Total: 100, PartsDone: 1, Parts: 1})
		view.finish(true)
	}
	if out.Len() != 0 {
		t.Errorf("wrote %q; without a terminal or --verbose put shows no progress", out.String())
	}
}

func TestBarViewAbortDoesNotHang(t *testing.T) {
	var out bytes.Buffer
	view := newProgressView(&out, false, progressBar, true, "a.jsonl", 100)
	view.update(uploads.Progress{UploadID: "upload_x", Sent: 40, Total: 100, Parts: 2})
	view.finish(false)
	if strings.Contains(out.String(), "done") {
		t.Errorf("an aborted bar shows done:\n%q", out.String())
	}
}
