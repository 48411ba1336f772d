package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// inProcess runs the command in this process against baseURL, as a terminal would see it when tty
// is true, and returns its exit code, stdout and stderr.
func inProcess(t *testing.T, baseURL string, tty bool, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr strings.Builder
	vars := map[string]string{"OPENAI_API_KEY": testKey, "OPENAI_BASE_URL": baseURL}
	env := environment{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string { return vars[k] }, stdoutIsTTY: tty}
	code := run(t.Context(), args, env)
	return code, stdout.String(), stderr.String()
}

// putFile uploads a small file of purpose through the command and returns the File's ID.
func putFile(t *testing.T, baseURL, name, purpose string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(`{"a": 1}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := inProcess(t, baseURL, false, "put", path, "--purpose", purpose)
	if code != 0 {
		t.Fatalf("put: exit %d: %s", code, stderr)
	}
	return strings.TrimSpace(stdout)
}

func TestFileListAndDelete(t *testing.T) {
	ts := newTestServer(t)
	batch1 := putFile(t, ts.URL, "a.jsonl", "batch")
	tune := putFile(t, ts.URL, "b.jsonl", "fine-tune")
	batch2 := putFile(t, ts.URL, "c.jsonl", "batch")

	listIDs := func(args ...string) ([]string, bool) {
		t.Helper()
		code, stdout, stderr := inProcess(t, ts.URL, false, append([]string{"file", "list", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("file list %v: exit %d: %s", args, code, stderr)
		}
		var list struct {
			Object  string `json:"object"`
			HasMore bool   `json:"has_more"`
			Data    []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(stdout), &list); err != nil || list.Object != "list" {
			t.Fatalf("file list --json printed %q (%v), want a list object", stdout, err)
		}
		var ids []string
		for _, f := range list.Data {
			ids = append(ids, f.ID)
		}
		return ids, list.HasMore
	}
	all, more := listIDs()
	if len(all) != 3 || more || !slices.Contains(all, batch1) || !slices.Contains(all, tune) || !slices.Contains(all, batch2) {
		t.Fatalf("file list = %v (has_more %v), want the 3 Files", all, more)
	}
	asc, _ := listIDs("--order", "asc")
	if !slices.Equal(asc, reversed(all)) {
		t.Errorf("--order asc = %v, want the reverse of %v", asc, all)
	}
	batch, _ := listIDs("--purpose", "batch")
	if len(batch) != 2 || !slices.Contains(batch, batch1) || !slices.Contains(batch, batch2) {
		t.Errorf("--purpose batch = %v, want %s and %s", batch, batch1, batch2)
	}
	two, more := listIDs("--limit", "2")
	if !slices.Equal(two, all[:2]) || !more {
		t.Errorf("--limit 2 = %v (has_more %v), want %v and has_more", two, more, all[:2])
	}

	// The table, on a terminal.
	code, stdout, _ := inProcess(t, ts.URL, true, "file", "list", "--purpose", "fine-tune")
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], "ID ") || !strings.HasPrefix(lines[1], tune+" ") ||
		!strings.Contains(lines[1], "fine-tune") || !strings.Contains(lines[1], "b.jsonl") {
		t.Errorf("file list on a terminal: exit %d\n%s\nwant a header and the fine-tune File", code, stdout)
	}

	// Delete: the IDs alone for a script; one that does not exist is reported and the others go.
	code, stdout, stderr := inProcess(t, ts.URL, false, "file", "delete", batch1, "file-doesnotexist", tune)
	if code != 1 {
		t.Errorf("delete with a missing File: exit %d, want 1", code)
	}
	if got := strings.Fields(stdout); !slices.Equal(got, []string{batch1, tune}) {
		t.Errorf("delete printed %q, want the two deleted IDs", stdout)
	}
	if !strings.Contains(stderr, "No such File object: file-doesnotexist") || !strings.Contains(stderr, "1 of 3 Files not deleted") {
		t.Errorf("delete stderr:\n%s\nwant the missing File's error and a count", stderr)
	}
	left, _ := listIDs()
	if !slices.Equal(left, []string{batch2}) {
		t.Errorf("after the delete, file list = %v, want only %s", left, batch2)
	}
	code, stdout, _ = inProcess(t, ts.URL, true, "file", "delete", batch2)
	if code != 0 || strings.TrimSpace(stdout) != "deleted "+batch2 {
		t.Errorf("delete on a terminal: exit %d, %q", code, stdout)
	}
	code, _, stderr = inProcess(t, ts.URL, false, "file", "delete", batch2)
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "param id") {
		t.Errorf("deleting a deleted File: exit %d, stderr %q; want 1 and one error line", code, stderr)
	}
	if code, stdout, _ := inProcess(t, ts.URL, false, "file", "list", "--json"); code != 0 || !strings.Contains(stdout, `"data": []`) {
		t.Errorf("empty list --json: exit %d, %s", code, stdout)
	}
}

func TestFileListUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"file", "list", "--limit", "-1"},
		{"file", "list", "--order", "sideways"},
		{"file", "list", "extra"},
		{"file", "delete"},
	} {
		code, _, stderr := inProcess(t, "http://127.0.0.1:1/v1", false, args...)
		if code != exitUsage || !strings.HasPrefix(stderr, "error: ") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and an error", args, code, stderr)
		}
	}
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}
