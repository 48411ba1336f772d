package main

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TestTerminal runs the binary in a pseudo-terminal, presses Ctrl-C as a person does, and reads the screen.
func TestTerminal(t *testing.T) {
	bin := buildCLI(t)
	t.Run("put draws one bar, then the summary", func(t *testing.T) { testTerminalPut(t, bin) })
	t.Run("Ctrl-C stops the bar, says cancelling, then cancelled", func(t *testing.T) { testTerminalCtrlC(t, bin) })
	t.Run("a second Ctrl-C names the upload left pending", func(t *testing.T) { testTerminalSecondCtrlC(t, bin) })
	t.Run("completing and verifying the MD5 shows", func(t *testing.T) { testTerminalCompleting(t, bin) })
	t.Run("file download draws a bar", func(t *testing.T) { testTerminalDownload(t, bin) })
	t.Run("no escape code without a terminal", func(t *testing.T) { testNoEscapeCodes(t, bin) })
}

// cols is the width of the test terminal.
const cols = 100

// terminal is a run of the binary in a pseudo-terminal of cols columns: its stdin, stdout and stderr.
type terminal struct {
	t    *testing.T
	cmd  *exec.Cmd
	ptmx *os.File
	mu   sync.Mutex
	raw  bytes.Buffer
	read chan struct{} // closed when the output has all been read
}

func startTerminal(t *testing.T, c cli, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.env
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: cols, Rows: 40})
	if err != nil {
		t.Fatalf("start in a pseudo-terminal: %v", err)
	}
	tm := &terminal{t: t, cmd: cmd, ptmx: ptmx, read: make(chan struct{})}
	go func() {
		defer close(tm.read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			tm.mu.Lock()
			tm.raw.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil { // EIO once the command has exited and the terminal has no one left
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		ptmx.Close()
	})
	return tm
}

// output is everything the command and the terminal's echo wrote so far.
func (tm *terminal) output() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.raw.String()
}

// screen is what the terminal shows now.
func (tm *terminal) screen() []string { return screenOf(tm.output(), cols) }

// waitFor waits until the screen shows a line that matches re, and returns it.
func (tm *terminal) waitFor(re *regexp.Regexp) string {
	tm.t.Helper()
	deadline := time.Now().Add(waitBound)
	for time.Now().Before(deadline) {
		for _, line := range tm.screen() {
			if re.MatchString(line) {
				return line
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	tm.t.Fatalf("the screen never showed %s:\n%s", re, strings.Join(tm.screen(), "\n"))
	return ""
}

// press types keys, as a person at the terminal does: "\x03" is Ctrl-C.
func (tm *terminal) press(keys string) {
	tm.t.Helper()
	if _, err := tm.ptmx.Write([]byte(keys)); err != nil {
		tm.t.Fatalf("type %q: %v", keys, err)
	}
}

// wait waits for the command to exit and for its last output, and returns the exit code.
func (tm *terminal) wait() int {
	tm.t.Helper()
	code := waitExit(tm.t, tm.cmd)
	select {
	case <-tm.read:
	case <-time.After(waitBound):
		tm.t.Fatal("the terminal's output did not end")
	}
	return code
}

// barLine matches a whole line of put's bar, and nothing that an echoed ^C or a second draw left in it.
var barLine = regexp.MustCompile(`^big\.jsonl  (\[[#.]+\] )? *\d+%  [\d.]+ (bytes|KiB|MiB)( / [\d.]+ (KiB|MiB))?  parts \d+/\d+(  [^^]*)?$`)

func checkNoEscapes(t *testing.T, out string) {
	t.Helper()
	if i := strings.IndexByte(out, 0x1b); i >= 0 {
		t.Errorf("an escape code was written: %q", out[max(0, i-20):min(len(out), i+20)])
	}
}

func testTerminalPut(t *testing.T, bin string) {
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	path, _ := writeRandomFile(t, "big.jsonl", 64*1024)
	tm := startTerminal(t, c, "put", path, "--purpose", "batch", "--part-size", "8KiB")
	if code := tm.wait(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, tm.output())
	}
	screen := tm.screen()
	t.Logf("screen:\n%s", strings.Join(screen, "\n"))
	if len(screen) < 2 || !barLine.MatchString(screen[0]) || !strings.Contains(screen[0], "100%  64.0 KiB / 64.0 KiB  parts 8/8  done in ") {
		t.Fatalf("the first line is not the finished bar:\n%s", strings.Join(screen, "\n"))
	}
	// stdout is the terminal too: the summary, not the bare ID.
	if !regexp.MustCompile(`^file +file-\S+$`).MatchString(screen[1]) || !strings.Contains(strings.Join(screen, "\n"), "status    processed") {
		t.Errorf("the summary does not follow the bar:\n%s", strings.Join(screen, "\n"))
	}
	checkNoEscapes(t, tm.output())
}

func testTerminalCtrlC(t *testing.T, bin string) {
	parts := newGate(2, isPart) // two parts go through, the others wait
	ts := newTestServer(t, parts)
	c := newCLI(bin, ts.URL)
	path, _ := writeRandomFile(t, "big.jsonl", 64*1024)
	tm := startTerminal(t, c, "put", path, "--purpose", "batch", "--part-size", "4KiB", "--concurrency", "2")
	held := parts.waitHeld(t)
	uploadID := strings.Split(strings.TrimPrefix(held, "/v1/uploads/"), "/")[0]
	tm.waitFor(regexp.MustCompile(`parts 2/16`))
	tm.press("\x03")
	code := tm.wait()
	screen := tm.screen()
	t.Logf("screen:\n%s", strings.Join(screen, "\n"))
	if code != exitInterrupted {
		t.Errorf("exit code %d, want %d", code, exitInterrupted)
	}
	want := []string{"cancelling " + uploadID + " (Ctrl-C again to quit)", "cancelled " + uploadID}
	if len(screen) != 3 || !barLine.MatchString(screen[0]) || screen[1] != want[0] || screen[2] != want[1] {
		t.Errorf("screen after Ctrl-C:\n%s\nwant the bar, clean, then:\n%s", strings.Join(screen, "\n"), strings.Join(want, "\n"))
	}
	// The terminal did echo ^C; the bar was drawn over it.
	if !strings.Contains(tm.output(), "^C") {
		t.Errorf("the terminal echoed no ^C; the test does not test what it should: %q", tm.output())
	}
	checkNoEscapes(t, tm.output())
	if got := ts.uploadStatus(t, uploadID); got != "cancelled" {
		t.Errorf("upload %s is %s on the server, want cancelled", uploadID, got)
	}
}

func testTerminalSecondCtrlC(t *testing.T, bin string) {
	parts, cancels := newGate(0, isPart), newGate(0, isCancel) // nothing gets through, the cancel neither
	ts := newTestServer(t, parts, cancels)
	c := newCLI(bin, ts.URL)
	path, _ := writeRandomFile(t, "big.jsonl", 16*1024)
	tm := startTerminal(t, c, "put", path, "--purpose", "batch", "--part-size", "4KiB")
	held := parts.waitHeld(t)
	uploadID := strings.Split(strings.TrimPrefix(held, "/v1/uploads/"), "/")[0]
	tm.waitFor(regexp.MustCompile(`parts 0/4`))
	tm.press("\x03")
	tm.waitFor(regexp.MustCompile(`^cancelling ` + uploadID))
	cancels.waitHeld(t)
	tm.press("\x03")
	code := tm.wait()
	screen := tm.screen()
	t.Logf("screen:\n%s", strings.Join(screen, "\n"))
	if code != exitInterrupted {
		t.Errorf("exit code %d, want %d", code, exitInterrupted)
	}
	last := regexp.MustCompile(`^error: interrupted again: ` + uploadID +
		` is left pending until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in (59m\d\ds|1h00m)\); 'uploads cancel ` + uploadID + `' cancels it$`)
	// The last line is longer than the terminal is wide: it wraps.
	if len(screen) < 3 || !barLine.MatchString(screen[0]) || !strings.HasPrefix(screen[1], "cancelling ") || !last.MatchString(strings.Join(screen[2:], "")) {
		t.Errorf("screen after two Ctrl-C:\n%s\nwant the bar, the cancelling line, and a last line matching %s", strings.Join(screen, "\n"), last)
	}
	checkNoEscapes(t, tm.output())
	if got := ts.uploadStatus(t, uploadID); got != "pending" {
		t.Errorf("upload %s is %s on the server; the cancel was held, so it should still be pending", uploadID, got)
	}
}

func testTerminalCompleting(t *testing.T, bin string) {
	isComplete := func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/complete") }
	completes := newGate(0, isComplete)
	completes.proceed = true
	ts := newTestServer(t, completes)
	c := newCLI(bin, ts.URL)
	path, _ := writeRandomFile(t, "big.jsonl", 32*1024)
	tm := startTerminal(t, c, "put", path, "--purpose", "batch", "--part-size", "8KiB", "--md5")
	completes.waitHeld(t)
	line := tm.waitFor(regexp.MustCompile(`parts 4/4  completing, verifying the MD5\.\.\. \d+s$`))
	if !barLine.MatchString(line) || !strings.Contains(line, "100%") {
		t.Errorf("bar while completing: %q", line)
	}
	completes.open()
	if code := tm.wait(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, tm.output())
	}
	if screen := tm.screen(); !strings.Contains(screen[0], "parts 4/4  done in ") {
		t.Errorf("the bar did not end done:\n%s", strings.Join(screen, "\n"))
	}
}

func testTerminalDownload(t *testing.T, bin string) {
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	path, data := writeRandomFile(t, "big.jsonl", 3<<20)
	fileID := strings.TrimSpace(c.mustRun(t, "put", path, "--purpose", "batch").stdout)
	out := filepath.Join(t.TempDir(), "back.bin")
	tm := startTerminal(t, c, "file", "download", fileID, "-o", out)
	if code := tm.wait(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, tm.output())
	}
	screen := tm.screen()
	t.Logf("screen:\n%s", strings.Join(screen, "\n"))
	want := regexp.MustCompile(`^` + regexp.QuoteMeta(fileID+" -> back.bin") + `  \[#+\] 100%  3\.0 MiB / 3\.0 MiB  done in \d+s$`)
	if len(screen) != 1 || !want.MatchString(screen[0]) {
		t.Errorf("screen after a download:\n%s\nwant one line matching %s", strings.Join(screen, "\n"), want)
	}
	checkNoEscapes(t, tm.output())
	if back, err := os.ReadFile(out); err != nil || !bytes.Equal(back, data) {
		t.Errorf("the download differs from the file put (%v)", err)
	}
}

func testNoEscapeCodes(t *testing.T, bin string) {
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	path, _ := writeRandomFile(t, "big.jsonl", 20*1024)
	// A bar forced on a pipe is redrawn with carriage returns only.
	res := c.mustRun(t, "put", path, "--purpose", "batch", "--part-size", "4KiB", "--progress", "bar", "--verbose")
	checkNoEscapes(t, res.stdout+res.stderr)
	if !strings.Contains(res.stderr, "parts 5/5  done") {
		t.Errorf("no finished bar in %q", res.stderr)
	}
	res = c.mustRun(t, "file", "download", strings.TrimSpace(res.stdout), "-o", filepath.Join(t.TempDir(), "x"))
	if res.stdout != "" || res.stderr != "" {
		t.Errorf("a download without a terminal wrote %q and %q, want nothing", res.stdout, res.stderr)
	}
}
