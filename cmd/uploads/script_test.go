package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestScripts runs the binary as shell scripts use it: output captured with $(...) or piped on.
func TestScripts(t *testing.T) {
	bin := buildCLI(t)
	t.Run("IDs captured with $(...) carry an upload from create to complete", func(t *testing.T) { testScriptSteps(t, bin) })
	t.Run("put --json pipes the completed Upload with its File", func(t *testing.T) { testPutJSONPipe(t, bin) })
	t.Run("--version, -h and --help exit 0", func(t *testing.T) { testVersionHelp(t, bin) })
	t.Run("a base URL without /v1 gets a hint", func(t *testing.T) { testBaseURLHint(t, bin) })
}

// shell runs script with sh, the binary's directory first on PATH, against the server of c.
func (c cli) shell(t *testing.T, dir, script string) result {
	t.Helper()
	cmd := exec.Command("sh", "-eu", "-c", script)
	cmd.Dir = dir
	// The last PATH wins over the one in c.env.
	cmd.Env = append(c.env[:len(c.env):len(c.env)], "PATH="+filepath.Dir(c.bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sh: %v", err)
	}
	code := waitExit(t, cmd)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func testScriptSteps(t *testing.T, bin string) {
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	dir := t.TempDir()
	for name, data := range map[string]string{"one": "{\"a\": 1}\n", "two": "{\"b\": 2}\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res := c.shell(t, dir, `
U=$(uploads create --filename small.jsonl --purpose batch --bytes 18)
P1=$(uploads add-part "$U" one)
P2=$(uploads add-part "$U" two)
F=$(uploads complete "$U" "$P1" "$P2")
echo "$U $P1 $P2 $F"
uploads file download "$F" -o back.jsonl
`)
	if res.code != 0 {
		t.Fatalf("script exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	ids := regexp.MustCompile(`^upload_[0-9a-f]{32} part_[0-9a-f]{32} part_[0-9a-f]{32} file-\S+\n$`)
	if !ids.MatchString(res.stdout) {
		t.Errorf("the captured IDs are %q, want an upload, two parts and a File, one word each", res.stdout)
	}
	// The summaries went to stderr, where a person running the script sees them.
	for _, want := range []string{"upload ", "part ", "status    completed"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr has no %q:\n%s", want, res.stderr)
		}
	}
	if back, _ := os.ReadFile(filepath.Join(dir, "back.jsonl")); string(back) != "{\"a\": 1}\n{\"b\": 2}\n" {
		t.Errorf("download = %q, want the two parts in order", back)
	}
}

func testPutJSONPipe(t *testing.T, bin string) {
	ts := newTestServer(t)
	c := newCLI(bin, ts.URL)
	path, _ := writeRandomFile(t, "data.jsonl", 3000)
	if _, err := exec.LookPath("jq"); err != nil {
		// Without jq, the same check in Go: the output is one JSON object with .file.id.
		up := decodeJSON(t, c.mustRun(t, "put", path, "--purpose", "batch", "--json").stdout)
		file, _ := up["file"].(map[string]any)
		if id, _ := file["id"].(string); !strings.HasPrefix(id, "file-") {
			t.Fatalf("put --json = %v, want .file.id", up)
		}
		return
	}
	res := c.shell(t, t.TempDir(), `uploads put '`+path+`' --purpose batch --json | jq -e -r .file.id`)
	if res.code != 0 || !regexp.MustCompile(`^file-\S+\n$`).MatchString(res.stdout) {
		t.Fatalf("put --json | jq -e .file.id: exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
}

func testVersionHelp(t *testing.T, bin string) {
	c := newCLI(bin, "http://127.0.0.1:1/v1")
	res := c.mustRun(t, "--version")
	if !regexp.MustCompile(`^uploads \S.*, go1\.\S+\n$`).MatchString(res.stdout) {
		t.Errorf("--version printed %q, want the version and the Go release on one line", res.stdout)
	}
	for _, args := range [][]string{{"-h"}, {"--help"}, {"put", "-h"}, {"file", "download", "--help"}} {
		res := c.mustRun(t, args...)
		if !strings.Contains(res.stdout, "Usage:") {
			t.Errorf("%v printed no usage:\n%s", args, res.stdout)
		}
	}
	if res := c.mustRun(t, "--help"); !strings.Contains(res.stdout, "prints its ID alone on stdout") {
		t.Errorf("--help does not document the output for scripts:\n%s", res.stdout)
	}
}

func testBaseURLHint(t *testing.T, bin string) {
	ts := newTestServer(t)
	root := strings.TrimSuffix(ts.URL, "/v1")
	c := newCLI(bin, root)
	res := c.run(t, "file", "get", "file-abc")
	lines := strings.Split(strings.TrimSuffix(res.stderr, "\n"), "\n")
	if res.code != exitFailure || len(lines) != 2 || !strings.Contains(lines[0], "Invalid URL") {
		t.Fatalf("exit %d, stderr:\n%s\nwant the API's Invalid URL error and a hint", res.code, res.stderr)
	}
	if want := "hint: the base URL " + root + " does not end in /v1; the API is usually served under it: try " + root + "/v1"; lines[1] != want {
		t.Errorf("hint = %q, want %q", lines[1], want)
	}
	// With /v1, an unknown File gets no hint.
	res = newCLI(bin, ts.URL).run(t, "file", "get", "file-abc")
	if strings.Contains(res.stderr, "hint:") {
		t.Errorf("a 404 under /v1 got a hint:\n%s", res.stderr)
	}
}
