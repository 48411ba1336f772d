package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// TestCLI builds the binary once and runs it against the reference server over loopback.
func TestCLI(t *testing.T) {
	bin := buildCLI(t)
	t.Run("put of a multi-part file downloads back byte for byte", func(t *testing.T) { testPutRoundTrip(t, bin) })
	t.Run("put prints a human summary and, with --verbose, a line per part", func(t *testing.T) { testPutSummaryVerbose(t, bin) })
	t.Run("put draws a progress bar when asked", func(t *testing.T) { testPutProgressBar(t, bin) })
	t.Run("create, add-part, complete, file get and download by hand", func(t *testing.T) { testManualSteps(t, bin) })
	t.Run("cancel of a pending upload", func(t *testing.T) { testCancel(t, bin) })
	t.Run("usage errors exit 2 and send nothing", func(t *testing.T) { testUsageErrors(t, bin) })
	t.Run("API errors print one line and exit 1", func(t *testing.T) { testAPIErrors(t, bin) })
	t.Run("Ctrl-C during put cancels the upload on the server", func(t *testing.T) { testInterruptCancels(t, bin) })
	t.Run("a second Ctrl-C exits at once", func(t *testing.T) { testSecondInterrupt(t, bin) })
}

func testPutRoundTrip(t *testing.T, bin string) {
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	const size = 50*1024 + 123 // 13 parts of 4 KiB, the last one short
	path, data := writeRandomFile(t, "train.jsonl", size)

	res := c.mustRun(t, "put", path, "--purpose", "fine-tune", "--part-size", "4KiB", "--concurrency", "3", "--md5", "--json")
	if res.stderr != "" {
		t.Errorf("stderr is not a terminal, so put should print nothing but the result; stderr:\n%s", res.stderr)
	}
	up := decodeJSON(t, res.stdout)
	file, _ := up["file"].(map[string]any)
	if up["object"] != "upload" || up["status"] != "completed" || file == nil {
		t.Fatalf("put --json printed %v, want the completed Upload with its File", up)
	}
	id, _ := file["id"].(string)
	if !strings.HasPrefix(id, "file-") || file["object"] != "file" {
		t.Fatalf("put --json printed the file %v, want a File object", file)
	}
	if file["bytes"] != float64(size) || file["filename"] != "train.jsonl" || file["purpose"] != "fine-tune" {
		t.Errorf("File = %v, want %d bytes of train.jsonl for fine-tune", file, size)
	}

	got := decodeJSON(t, c.mustRun(t, "file", "get", id, "--json").stdout)
	if got["id"] != id || got["bytes"] != float64(size) {
		t.Errorf("file get %s = %v", id, got)
	}

	out := filepath.Join(t.TempDir(), "back.jsonl")
	res = c.mustRun(t, "file", "download", id, "-o", out)
	if res.stdout != "" || res.stderr != "" {
		t.Errorf("download with -o printed stdout %q, stderr %q; want nothing", res.stdout, res.stderr)
	}
	back, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("read the download: %v", err)
	}
	if !bytes.Equal(back, data) {
		t.Fatalf("download differs from the original: %d bytes back, %d sent", len(back), len(data))
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*"))
	if len(leftovers) != 0 {
		t.Errorf("download left temporary files behind: %v", leftovers)
	}

	res = c.mustRun(t, "file", "download", id, "-o", "-")
	if res.stdout != string(data) {
		t.Errorf("download -o - wrote %d bytes to stdout, want the %d of the file", len(res.stdout), len(data))
	}
}

func testPutSummaryVerbose(t *testing.T, bin string) {
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	path, _ := writeRandomFile(t, "notes.txt", 10*1024)

	res := c.mustRun(t, "put", path, "--purpose", "assistants", "--part-size", "4096", "--verbose")
	// stdout is not a terminal: the File's ID alone there, the summary on stderr after the part lines.
	if !regexp.MustCompile(`^file-\S+\n$`).MatchString(res.stdout) {
		t.Errorf("stdout = %q, want the File's ID alone", res.stdout)
	}
	fileID := strings.TrimSpace(res.stdout)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^file +` + regexp.QuoteMeta(fileID) + `$`),
		regexp.MustCompile(`(?m)^file +file-\S+$`),
		regexp.MustCompile(`(?m)^filename +notes\.txt$`),
		regexp.MustCompile(`(?m)^bytes +10\.0 KiB \(10240 bytes\)$`),
		regexp.MustCompile(`(?m)^status +processed$`),
		regexp.MustCompile(`(?m)^upload +upload_[0-9a-f]{32} \(completed\)$`),
	} {
		if !want.MatchString(res.stderr) {
			t.Errorf("summary does not match %s:\n%s", want, res.stderr)
		}
	}
	lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
	if len(lines) < 4 {
		t.Fatalf("stderr has %d lines:\n%s", len(lines), res.stderr)
	}
	lines = lines[:4]
	if !strings.Contains(lines[0], "sending 10.0 KiB in 3 parts") {
		t.Fatalf("--verbose printed %d lines, want a start line and one per part (3):\n%s", len(lines), res.stderr)
	}
	for i, line := range lines[1:] {
		if want := fmt.Sprintf("part %d of 3 sent", i+1); !strings.Contains(line, want) {
			t.Errorf("line %d = %q, want %q in it", i+2, line, want)
		}
	}
}

func testPutProgressBar(t *testing.T, bin string) {
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	path, _ := writeRandomFile(t, "bar.bin", 20*1024)

	res := c.mustRun(t, "put", path, "--purpose", "user_data", "--mime-type", "application/octet-stream", "--part-size", "8KiB", "--progress", "bar")
	if !strings.Contains(res.stderr, "bar.bin") || !strings.Contains(res.stderr, "parts 3/3") {
		t.Errorf("progress bar should name the file and show the parts done; stderr:\n%q", res.stderr)
	}
	if !strings.HasPrefix(res.stdout, "file-") || !regexp.MustCompile(`(?m)^status +processed$`).MatchString(res.stderr) {
		t.Errorf("stdout %q should be the File's ID, and stderr have the summary:\n%s", res.stdout, res.stderr)
	}
}

func testManualSteps(t *testing.T, bin string) {
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	dir := t.TempDir()
	first, second := []byte("{\"a\": 1}\n"), []byte("{\"b\": 2}\n")
	for name, data := range map[string][]byte{"one": first, "two": second} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	size := fmt.Sprint(len(first) + len(second))

	up := decodeJSON(t, c.mustRun(t, "create", "--filename", "small.jsonl", "--purpose", "batch", "--bytes", size, "--json").stdout)
	uploadID, _ := up["id"].(string)
	if up["status"] != "pending" || up["object"] != "upload" || up["bytes"] != float64(len(first)+len(second)) {
		t.Fatalf("create printed %v, want a pending upload", up)
	}
	partOne := decodeJSON(t, c.mustRun(t, "add-part", uploadID, filepath.Join(dir, "one"), "--json").stdout)
	partTwo := decodeJSON(t, c.mustRun(t, "add-part", uploadID, filepath.Join(dir, "two"), "--json").stdout)
	if partOne["upload_id"] != uploadID || partOne["object"] != "upload.part" {
		t.Fatalf("add-part printed %v", partOne)
	}
	done := decodeJSON(t, c.mustRun(t, "complete", uploadID, "--part", partOne["id"].(string)+","+partTwo["id"].(string), "--json").stdout)
	file, _ := done["file"].(map[string]any)
	if done["status"] != "completed" || file == nil {
		t.Fatalf("complete printed %v, want a completed upload with its File", done)
	}
	fileID := file["id"].(string)

	res := c.mustRun(t, "file", "get", fileID)
	if !regexp.MustCompile(`(?m)^filename +small\.jsonl$`).MatchString(res.stdout) {
		t.Errorf("file get summary:\n%s", res.stdout)
	}
	out := filepath.Join(dir, "back.jsonl")
	c.mustRun(t, "file", "download", fileID, "--output", out)
	if back, _ := os.ReadFile(out); string(back) != string(first)+string(second) {
		t.Errorf("download = %q, want the parts in order", back)
	}
}

func testCancel(t *testing.T, bin string) {
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	up := decodeJSON(t, c.mustRun(t, "create", "--filename", "x.jsonl", "--purpose", "batch", "--bytes", "1MiB", "--json").stdout)
	id := up["id"].(string)

	res := c.mustRun(t, "cancel", id)
	if !regexp.MustCompile(`(?m)^status +cancelled$`).MatchString(res.stdout) {
		t.Errorf("cancel summary:\n%s", res.stdout)
	}
	if got := ts.uploadStatus(t, id); got != "cancelled" {
		t.Errorf("upload %s is %s on the server, want cancelled", id, got)
	}
}

func testUsageErrors(t *testing.T, bin string) {
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	file, _ := writeRandomFile(t, "data.jsonl", 100)
	tests := []struct {
		name string
		args []string
		env  []string // replaces the environment when not nil
		want string   // in the error line
	}{
		{"no command", nil, nil, "uploads needs a command: one of"},
		{"unknown command", []string{"pt"}, nil, `unknown command "pt" for "uploads" Did you mean this? put`},
		{"put without a file", []string{"put", "--purpose", "batch"}, nil, "uploads put: missing FILE"},
		{"put without a purpose", []string{"put", file}, nil, `required flag(s) "purpose" not set`},
		{"put of two files", []string{"put", file, file, "--purpose", "batch"}, nil, "unexpected argument"},
		{"put of a directory", []string{"put", t.TempDir(), "--purpose", "batch"}, nil, "is not a regular file"},
		{"zero part size", []string{"put", file, "--purpose", "batch", "--part-size", "0"}, nil, "--part-size 0 is not between 1 byte and 64MiB"},
		{"part size over 64 MiB", []string{"put", file, "--purpose", "batch", "--part-size", "65MiB"}, nil, "is not between 1 byte and 64MiB"},
		{"malformed part size", []string{"put", file, "--purpose", "batch", "--part-size", "lots"}, nil, "is not a number of bytes"},
		{"no concurrency", []string{"put", file, "--purpose", "batch", "--concurrency", "0"}, nil, "--concurrency 0"},
		{"malformed concurrency", []string{"put", file, "--purpose", "batch", "--concurrency", "many"}, nil, `invalid argument "many" for "--concurrency"`},
		{"malformed expiry", []string{"put", file, "--purpose", "batch", "--expires-after", "soon"}, nil, "--expires-after \"soon\""},
		{"expiry out of range", []string{"put", file, "--purpose", "batch", "--expires-after", "10m"}, nil, "expires after"},
		{"zero expiry", []string{"put", file, "--purpose", "batch", "--expires-after", "0"}, nil, "--expires-after \"0\""},
		{"unknown progress mode", []string{"put", file, "--purpose", "batch", "--progress", "fancy"}, nil, "use auto, bar or none"},
		{"unknown flag", []string{"put", file, "--purpose", "batch", "--colour"}, nil, "unknown flag: --colour"},
		{"complete without parts", []string{"complete", "upload_abc"}, nil, `no part IDs`},
		{"complete without an upload", []string{"complete"}, nil, `missing UPLOAD_ID`},
		{"unsupported purpose", []string{"put", file, "--purpose", "homework"}, nil, `--purpose "homework" is not one of assistants, batch, fine-tune, vision, user_data, evals`},
		{"misspelt purpose", []string{"create", "--filename", "a.jsonl", "--purpose", "finetune", "--bytes", "10"}, nil, `(did you mean fine-tune?)`},
		{"negative timeout", []string{"cancel", "upload_abc", "--timeout", "-1s"}, nil, `--timeout -1s is negative`},
		{"complete with a bad MD5", []string{"complete", "upload_abc", "--part", "part_1", "--md5", "xyz"}, nil, "is not 32 hexadecimal digits"},
		{"cancel without an ID", []string{"cancel"}, nil, "uploads cancel: missing UPLOAD_ID"},
		{"cancel of a blank ID", []string{"cancel", " "}, nil, "UPLOAD_ID is empty"},
		{"file alone", []string{"file"}, nil, "uploads file needs a command: one of delete, download, get, list"},
		{"download without -o", []string{"file", "download", "file-abc"}, nil, `required flag(s) "output" not set`},
		{"create without bytes", []string{"create", "--filename", "a.jsonl", "--purpose", "batch"}, nil, `required flag(s) "bytes" not set`},
		{"no API key", []string{"cancel", "upload_abc"}, []string{"OPENAI_BASE_URL=" + ts.URL}, "no API key: set OPENAI_API_KEY or pass --api-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := c
			if tt.env != nil {
				run.env = tt.env
			}
			before := ts.requests.Load()
			res := run.run(t, tt.args...)
			if res.code != exitUsage {
				t.Errorf("exit code %d, want %d; stderr:\n%s", res.code, exitUsage, res.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(res.stderr, "\n"), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "error: ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("stderr should be an error line with %q and a pointer to --help; got:\n%s", tt.want, res.stderr)
			} else if !strings.Contains(lines[1], "--help' for usage") {
				t.Errorf("second line %q should point to --help", lines[1])
			}
			if res.stdout != "" {
				t.Errorf("stdout should be empty, got %q", res.stdout)
			}
			if n := ts.requests.Load() - before; n != 0 {
				t.Errorf("a usage error sent %d requests, want none", n)
			}
		})
	}

	res := c.run(t, "--help")
	if res.code != 0 || !strings.Contains(res.stdout, "Exit codes:") || !strings.Contains(res.stdout, "130  interrupted") {
		t.Errorf("--help exit %d, should document the exit codes:\n%s", res.code, res.stdout)
	}
}

func testAPIErrors(t *testing.T, bin string) {
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	path, _ := writeRandomFile(t, "data.jsonl", 100)
	requestID := `request id req_[0-9a-f]{32}`
	tests := []struct {
		name string
		cli  cli
		args []string
		want string // regular expression for the whole error line
	}{
		{"unknown upload", c, []string{"cancel", "upload_00000000000000000000000000000000"},
			`^error: cancel upload upload_0{32}: .+ \(status 404, type invalid_request_error, code not_found, param (upload|file)_id, ` + requestID + `\)$`},
		{"unknown file", c, []string{"file", "get", "file-doesnotexist"},
			`^error: retrieve file file-doesnotexist: .+ \(status 404, type invalid_request_error, param id, ` + requestID + `\)$`},
		{"wrong key", cli{bin: bin, env: append([]string{"OPENAI_API_KEY=sk-wrong"}, c.env[1:]...)}, []string{"file", "get", "file-x"},
			`^error: retrieve file file-x: .+ \(status 401, type invalid_request_error, code invalid_api_key, ` + requestID + `\)$`},
		{"unsupported MIME type", c, []string{"put", path, "--purpose", "vision"},
			`^error: upload data\.jsonl: create upload: .+ \(status 400, type invalid_request_error, .*param mime_type, ` + requestID + `\)$`},
		{"key from the flag wins over the environment", c, []string{"file", "get", "file-x", "--api-key", "sk-wrong"},
			`\(status 401, type invalid_request_error, code invalid_api_key, ` + requestID + `\)$`},
		{"missing file", c, []string{"put", "/nonexistent/x.jsonl", "--purpose", "batch"},
			`^error: upload /nonexistent/x\.jsonl: .*no such file or directory$`},
		{"no server", cli{bin: bin, env: c.env}, []string{"cancel", "upload_abc", "--base-url", "http://127.0.0.1:1/v1"},
			`^error: cancel upload upload_abc: .*connect`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.cli.run(t, tt.args...)
			if res.code != exitFailure {
				t.Errorf("exit code %d, want %d; stderr:\n%s", res.code, exitFailure, res.stderr)
			}
			if strings.Count(res.stderr, "\n") != 1 || !regexp.MustCompile(tt.want).MatchString(strings.TrimSuffix(res.stderr, "\n")) {
				t.Errorf("stderr should be one line matching %s; got:\n%s", tt.want, res.stderr)
			}
		})
	}
}

func testInterruptCancels(t *testing.T, bin string) {
	// The first two parts go through; the others are held until the test ends, so the upload is still
	// sending when the interrupt comes.
	parts := newGate(2, isPart)
	ts := newTestServer(t, parts)
	c := newCLI(bin, ts.URL)
	path, _ := writeRandomFile(t, "big.jsonl", 64*1024)

	cmd, stdout, stderr := c.command("put", path, "--purpose", "fine-tune", "--part-size", "4KiB", "--concurrency", "2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	held := parts.waitHeld(t)
	uploadID := strings.Split(strings.TrimPrefix(held, "/v1/uploads/"), "/")[0]
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := waitExit(t, cmd)

	if code != exitInterrupted {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
	}
	if want := "cancelling " + uploadID + " (Ctrl-C again to quit)\ncancelled " + uploadID + "\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want the two lines %q", stderr, want)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	if got := ts.uploadStatus(t, uploadID); got != "cancelled" {
		t.Errorf("upload %s is %s on the server, want cancelled", uploadID, got)
	}
}

func testSecondInterrupt(t *testing.T, bin string) {
	// Parts and the cancel are both held: the first Ctrl-C starts the cancel, which never returns.
	parts, cancels := newGate(0, isPart), newGate(0, isCancel)
	ts := newTestServer(t, parts, cancels)
	c := newCLI(bin, ts.URL)
	path, _ := writeRandomFile(t, "big.jsonl", 16*1024)

	cmd, _, stderr := c.command("put", path, "--purpose", "fine-tune", "--part-size", "4KiB")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	held := parts.waitHeld(t)
	uploadID := strings.Split(strings.TrimPrefix(held, "/v1/uploads/"), "/")[0]
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	cancels.waitHeld(t)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := waitExit(t, cmd)

	if code != exitInterrupted {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
	}
	if !strings.Contains(stderr.String(), "interrupted again") {
		t.Errorf("stderr = %q, want it to say it exits without waiting", stderr)
	}
	if got := ts.uploadStatus(t, uploadID); got != "pending" {
		t.Errorf("upload %s is %s on the server; the cancel was held, so it should still be pending", uploadID, got)
	}
}
