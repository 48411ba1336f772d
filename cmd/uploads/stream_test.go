package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStreams uploads from standard input, a FIFO and a process substitution.
func TestStreams(t *testing.T) {
	bin := buildCLI(t)
	t.Run("put - of 200 MiB round-trips within the documented memory", func(t *testing.T) { testPutStdin(t, bin) })
	t.Run("put of a FIFO", func(t *testing.T) { testPutFIFO(t, bin) })
	t.Run("put of a process substitution", func(t *testing.T) { testPutProcessSubstitution(t, bin) })
	t.Run("streams need --size and a name", func(t *testing.T) { testStreamUsage(t, bin) })
}

// stream is n reproducible pseudo-random bytes, made as they are read.
type stream struct {
	rng  *rand.ChaCha8
	left int64
}

func newStream(n int64) *stream {
	var seed [32]byte
	copy(seed[:], "uploads stream test seed 0123456")
	return &stream{rng: rand.NewChaCha8(seed), left: n}
}

func (s *stream) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), s.left)]
	s.rng.Read(p)
	s.left -= int64(len(p))
	return len(p), nil
}

// digest is the SHA-256 of the n bytes newStream(n) makes.
func digest(n int64) [32]byte {
	h := sha256.New()
	io.Copy(h, newStream(n))
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// downloadDigest downloads a File to stdout and returns the SHA-256 of what came.
func downloadDigest(t *testing.T, c cli, fileID string) [32]byte {
	t.Helper()
	cmd := exec.Command(c.bin, "file", "download", fileID, "-o", "-")
	cmd.Env = c.env
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	io.Copy(h, out)
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("download %s: exit %d", fileID, code)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

func testPutStdin(t *testing.T, bin string) {
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	const (
		size        = 200 << 20
		partSize    = 8 << 20
		concurrency = 4
	)
	cmd, stdout, stderr := c.command("put", "-", "--size", "200MiB", "--filename", "big.jsonl", "--purpose", "batch",
		"--part-size", "8MiB", "--concurrency", fmt.Sprint(concurrency), "--md5")
	cmd.Stdin = newStream(size)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	peakRSS := watchPeakRSS(cmd.Process.Pid, exited)
	code := waitExit(t, cmd)
	close(exited)
	if code != 0 {
		t.Fatalf("put -: exit %d\n%s", code, stderr)
	}
	fileID := strings.TrimSpace(stdout.String())
	if !strings.HasPrefix(fileID, "file-") || !strings.Contains(stderr.String(), "209715200 bytes") {
		t.Fatalf("put - printed %q, summary:\n%s", stdout, stderr)
	}
	if downloadDigest(t, c, fileID) != digest(size) {
		t.Fatalf("the File's content differs from the stream sent")
	}
	// The peak resident memory of the command: within the bound the documentation gives (concurrency × part
	// size = 32 MiB), plus what any run of the command takes, far from the 200 MiB that went through it.
	peak := <-peakRSS
	if peak == 0 {
		t.Skip("no /proc/PID/status to read the peak resident memory from")
	}
	bound := int64(concurrency*partSize + 48<<20)
	t.Logf("peak RSS %d MiB for a %d MiB stream (bound %d MiB)", peak>>20, size>>20, bound>>20)
	if peak > bound {
		t.Errorf("peak RSS %d MiB, want at most %d MiB (%d × %d MiB of parts, and 48 MiB for the rest)",
			peak>>20, bound>>20, concurrency, partSize>>20)
	}
}

// watchPeakRSS reads the high-water mark of the resident memory of process pid (VmHWM in /proc/PID/status)
// until stop is closed, and then sends the highest value read, in bytes; 0 when it could not be read. The
// mark only rises, so the last reading is the peak up to then. This is the process's own: the rusage the
// kernel keeps for a child also counts, on Linux, the memory of the test process it was forked from.
func watchPeakRSS(pid int, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		read := func() {
			status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				return
			}
			if m := regexp.MustCompile(`(?m)^VmHWM:\s+(\d+) kB$`).FindSubmatch(status); m != nil {
				var kib int64
				fmt.Sscan(string(m[1]), &kib)
				peak = max(peak, kib<<10)
			}
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			read()
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

func testPutFIFO(t *testing.T, bin string) {
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	fifo := filepath.Join(t.TempDir(), "rows.jsonl")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	const size = 3<<20 + 17
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		io.Copy(w, newStream(size))
	}()
	res := c.mustRun(t, "put", fifo, "--size", fmt.Sprint(size), "--purpose", "batch", "--part-size", "1MiB")
	fileID := strings.TrimSpace(res.stdout)
	if !regexp.MustCompile(`(?m)^filename +rows\.jsonl$`).MatchString(res.stderr) {
		t.Errorf("a FIFO is uploaded under its base name; summary:\n%s", res.stderr)
	}
	if downloadDigest(t, c, fileID) != digest(size) {
		t.Fatalf("the File's content differs from what the FIFO carried")
	}
}

func testPutProcessSubstitution(t *testing.T, bin string) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash for a process substitution")
	}
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	cmd := exec.Command("bash", "-c", `"$0" put <(printf '{"a": 1}\n{"b": 2}\n') --size 18 --filename rows.jsonl --purpose batch`, bin)
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("put <(...): exit %d\n%s", code, stderr.String())
	}
	out := filepath.Join(t.TempDir(), "back.jsonl")
	c.mustRun(t, "file", "download", strings.TrimSpace(stdout.String()), "-o", out)
	if back, _ := os.ReadFile(out); string(back) != "{\"a\": 1}\n{\"b\": 2}\n" {
		t.Errorf("download = %q", back)
	}
}

func testStreamUsage(t *testing.T, bin string) {
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	file, _ := writeRandomFile(t, "data.jsonl", 100)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"put", "-", "--purpose", "batch", "--filename", "a.jsonl"}, "give the length of standard input with --size"},
		{[]string{"put", "-", "--purpose", "batch", "--size", "10"}, "--filename"},
		{[]string{"put", "/dev/stdin", "--purpose", "batch", "--size", "10"}, "--filename"},
		{[]string{"put", "-", "--purpose", "batch", "--size", "9GiB", "--filename", "a.jsonl"}, "is not between 1 byte and 8GiB"},
		{[]string{"put", file, "--purpose", "batch", "--size", "99"}, "--size 99, but"},
	} {
		cmd, _, stderr := c.command(tt.args...)
		cmd.Stdin = strings.NewReader("0123456789")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, cmd); code != exitUsage || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want a usage error that says %q", tt.args, code, stderr, tt.want)
		}
	}
	// A stream shorter than --size fails, and the upload is cancelled.
	cmd, _, stderr := c.command("put", "-", "--purpose", "batch", "--size", "20", "--filename", "a.jsonl")
	cmd.Stdin = strings.NewReader("0123456789")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd); code != exitFailure || !strings.Contains(stderr.String(), "input ended after 10 of 20 bytes") ||
		!strings.Contains(stderr.String(), "cancelled") {
		t.Errorf("a short stream: exit %d, stderr %q", code, stderr)
	}
}
