package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uploadkit/uploads"
)

// lockedBuffer is a buffer a view's goroutine and the test may write and read at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func barConfig(out *lockedBuffer, total int64) viewConfig {
	return viewConfig{stderr: out, width: func() int { return 100 }, mode: progressBar, filename: "train.jsonl", total: total}
}

func TestBarViewDrawsBytesAndParts(t *testing.T) {
	var out lockedBuffer
	view := newProgressView(barConfig(&out, 3<<20))
	for i := 1; i <= 3; i++ {
		view.update(uploads.Progress{UploadID: "upload_x", Sent: int64(i) << 20, Total: 3 << 20, PartsDone: i, Parts: 3})
	}
	view.finish(true)
	lines := screenOf(out.String(), 100)
	if len(lines) != 1 {
		t.Fatalf("the bar took %d lines, want 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, want := range []string{"train.jsonl  [###", "100%  3.0 MiB / 3.0 MiB", "parts 3/3  done"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("bar %q does not show %q", lines[0], want)
		}
	}
	if strings.Contains(out.String(), "\x1b") {
		t.Errorf("the bar wrote an escape code: %q", out.String())
	}
}

func TestBarViewShowsCompleting(t *testing.T) {
	for _, md5 := range []bool{false, true} {
		var out lockedBuffer
		cfg := barConfig(&out, 100)
		cfg.md5 = md5
		view := newProgressView(cfg).(*putView)
		view.update(uploads.Progress{UploadID: "upload_x", Sent: 100, Total: 100, PartsDone: 2, Parts: 2})
		text := view.text()
		want := "parts 2/2  completing... 0s"
		if md5 {
			want = "parts 2/2  completing, verifying the MD5... 0s"
		}
		if !strings.Contains(text, want) {
			t.Errorf("md5 %v: bar %q, want %q", md5, text, want)
		}
		view.finish(true)
	}
}

func TestLiveLineDrawsOverAnEchoedKey(t *testing.T) {
	var out lockedBuffer
	line := newLiveLine(&out, func() int { return 40 })
	line.draw("big.bin  10%  parts 1/9")
	out.Write([]byte("^C")) // the terminal echoes Ctrl-C where the cursor is
	line.end("big.bin  11%  parts 1/9")
	out.Write([]byte("cancelling upload_x\n"))
	got := screenOf(out.String(), 40)
	want := []string{"big.bin  11%  parts 1/9", "cancelling upload_x"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A line longer than the terminal is cut short of its last columns, so that it never wraps.
	line = newLiveLine(&out, func() int { return 20 })
	line.draw(strings.Repeat("x", 50))
	if got := screenOf(out.String(), 20); len(got[len(got)-1]) > 17 {
		t.Errorf("a long line was drawn %d columns wide on a terminal of 20", len(got[len(got)-1]))
	}
}

func TestInterruptStopsTheBar(t *testing.T) {
	var out lockedBuffer
	left := &pending{}
	cfg := barConfig(&out, 100)
	cfg.pending = left
	view := newProgressView(cfg)
	expires := time.Now().Add(time.Hour)
	view.update(uploads.Progress{UploadID: "upload_x", ExpiresAt: expires, Sent: 40, Total: 100, Parts: 2})
	if msg := left.message(time.Now()); !strings.Contains(msg, "upload_x is left pending until "+expires.UTC().Format(time.RFC3339)) {
		t.Errorf("a second Ctrl-C would say %q", msg)
	}
	view.interrupt()
	view.interrupt()
	before := out.String()
	view.update(uploads.Progress{UploadID: "upload_x", Sent: 80, Total: 100, Parts: 2})
	time.Sleep(2 * redrawEvery) // the bar would have been drawn again by now
	view.finish(false)
	if out.String() != before {
		t.Errorf("the bar was drawn after the interrupt: %q", strings.TrimPrefix(out.String(), before))
	}
	lines := screenOf(out.String(), 100)
	if len(lines) != 2 || !strings.Contains(lines[0], " 40%") || lines[1] != "cancelling upload_x (Ctrl-C again to quit)" {
		t.Errorf("screen after Ctrl-C:\n%s", strings.Join(lines, "\n"))
	}
	if msg := left.message(time.Now()); strings.Contains(msg, "upload_x") {
		t.Errorf("after the upload returned, a second Ctrl-C would still name it: %q", msg)
	}
}

func TestLineViewWritesOneLinePerPart(t *testing.T) {
	var out lockedBuffer
	view := newProgressView(viewConfig{stderr: &out, mode: progressAuto, verbose: true, filename: "a.jsonl", total: 3 << 20})
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
	var out lockedBuffer
	for _, mode := range []progressMode{progressAuto, progressNone} {
		view := newProgressView(viewConfig{stderr: &out, mode: mode, filename: "a.jsonl", total: 100})
		view.update(uploads.Progress{UploadID: "upload_x", Sent: 100, Total: 100, PartsDone: 1, Parts: 1})
		view.finish(true)
	}
	if out.String() != "" {
		t.Errorf("wrote %q; without a terminal or --verbose put shows no progress", out.String())
	}
}

func TestBarViewAbortDoesNotHang(t *testing.T) {
	var out lockedBuffer
	view := newProgressView(barConfig(&out, 100))
	view.update(uploads.Progress{UploadID: "upload_x", Sent: 40, Total: 100, Parts: 2})
	view.finish(false)
	if strings.Contains(out.String(), "done") {
		t.Errorf("an aborted bar shows done:\n%q", out.String())
	}
}

// screenOf is the screen a terminal of cols columns shows after out.
func screenOf(out string, cols int) []string {
	s := newScreen(cols)
	s.write([]byte(out))
	return s.text()
}
