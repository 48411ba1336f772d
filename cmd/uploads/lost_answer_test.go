package main

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/uploadkit/uploads"
	"github.com/uploadkit/uploads/internal/faultproxy"
)

// directClient is a client of the test server that no proxy stands in front of, to check what the
// server holds.
func directClient(t *testing.T, ts *testServer) *uploads.Client {
	t.Helper()
	c, err := uploads.NewClient(uploads.WithAPIKey(testKey), uploads.WithBaseURL(ts.URL))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// behindProxy starts a fault proxy in front of ts and returns the base URL to reach ts through it.
func behindProxy(t *testing.T, ts *testServer, rules ...faultproxy.Rule) string {
	t.Helper()
	p := faultproxy.Start(strings.TrimSuffix(ts.URL, "/v1"), rules...)
	t.Cleanup(p.Close)
	return p.URL + "/v1"
}

// apiStatus asks the API what state an upload is in, without changing it: completing with a part
// that does not exist is refused for the upload's state when it is not pending, else for the part.
func apiStatus(t *testing.T, c *uploads.Client, uploadID string) uploads.UploadStatus {
	t.Helper()
	_, err := c.Complete(context.Background(), uploadID, uploads.CompleteParams{PartIDs: []string{"part_that_does_not_exist"}})
	var apiErr *uploads.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("read the status of upload %s: %v", uploadID, err)
	}
	for _, s := range []uploads.UploadStatus{uploads.UploadStatusCompleted, uploads.UploadStatusCancelled, uploads.UploadStatusExpired} {
		if strings.Contains(apiErr.Message, string(s)) {
			return s
		}
	}
	if apiErr.Param == "part_ids" {
		return uploads.UploadStatusPending
	}
	t.Fatalf("read the status of upload %s: %v", uploadID, err)
	return ""
}

func rule(method, path string, nth int, fault faultproxy.Fault) faultproxy.Rule {
	return faultproxy.Rule{Method: method, Path: path, Nth: nth, Fault: fault}
}

// TestLostAnswers runs the uploads command through a proxy that loses answers or resets
// connections, and checks that what it prints and its exit code match what the server holds.
func TestLostAnswers(t *testing.T) {
	bin := buildCLI(t)
	t.Run("cancel whose answer is lost exits 0", func(t *testing.T) { testCancelLostAnswer(t, bin) })
	t.Run("complete whose answer is lost exits 0", func(t *testing.T) { testCompleteLostAnswer(t, bin) })
	t.Run("add-part - from a pipe", func(t *testing.T) { testAddPartFromPipe(t, bin) })
	t.Run("file delete whose answer is lost exits 0", func(t *testing.T) { testFileDeleteLostAnswer(t, bin) })
	t.Run("file delete of a File that never existed exits 1", func(t *testing.T) { testFileDeleteNeverExisted(t, bin) })
}

// madeFile makes a File of data on the server through c and returns its ID.
func madeFile(t *testing.T, c *uploads.Client, data string) string {
	t.Helper()
	ctx := context.Background()
	up, err := c.Create(ctx, uploads.CreateParams{Filename: "a.jsonl", Purpose: uploads.PurposeFineTune, Bytes: int64(len(data)), MIMEType: "text/jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	part, err := c.AddPart(ctx, up.ID, strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.Complete(ctx, up.ID, uploads.CompleteParams{PartIDs: []string{part.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return done.File.ID
}

// The answer to the first DELETE is lost after the server deleted the File: the retry finds no
// File, and the command says the File is gone, prints its ID as done, and exits 0; with several
// IDs, it still counts as done while another ID fails.
func testFileDeleteLostAnswer(t *testing.T, bin string) {
	ts := newTestServer(t)
	direct := directClient(t, ts)
	loseFirst := func() cli {
		return newCLI(bin, behindProxy(t, ts, rule("DELETE", "/v1/files/*", 1, faultproxy.LoseAnswer)))
	}

	id := madeFile(t, direct, "abc")
	res := loseFirst().run(t, "file", "delete", id)
	if res.code != 0 || res.stdout != id+"\n" {
		t.Fatalf("file delete exited %d, stdout %q, stderr %q; want 0 and the ID", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stderr, "answer to delete was lost") || !strings.Contains(res.stderr, "it is gone") || strings.Contains(res.stderr, "error") {
		t.Errorf("stderr %q; want a note that the File is gone after a lost answer, and no error", res.stderr)
	}
	if _, err := direct.RetrieveFile(context.Background(), id); !uploads.IsNotFound(err) {
		t.Errorf("the server still has the File: %v", err)
	}

	id = madeFile(t, direct, "def")
	res = loseFirst().run(t, "file", "delete", id, "--json")
	if res.code != 0 {
		t.Fatalf("file delete --json exited %d: %s", res.code, res.stderr)
	}
	if out := decodeJSON(t, res.stdout); out["id"] != id || out["object"] != "file" || out["deleted"] != true || len(out) != 3 {
		t.Errorf("file delete --json printed %v; want the ID, object and deleted, and nothing else", out)
	}

	// On a terminal it says "gone", not "deleted": no answer said this attempt deleted it.
	id = madeFile(t, direct, "jkl")
	code, stdout, stderr := inProcess(t, behindProxy(t, ts, rule("DELETE", "/v1/files/*", 1, faultproxy.LoseAnswer)), true, "file", "delete", id)
	if code != 0 || stdout != "gone "+id+"\n" || !strings.Contains(stderr, "it is gone") {
		t.Errorf("file delete on a terminal exited %d, stdout %q, stderr %q; want 0 and gone ID", code, stdout, stderr)
	}

	id = madeFile(t, direct, "ghi")
	res = loseFirst().run(t, "file", "delete", id, "file-never-existed")
	if res.code != 1 || res.stdout != id+"\n" || !strings.Contains(res.stderr, "No such File object: file-never-existed") ||
		!strings.Contains(res.stderr, "1 of 2 Files not deleted") {
		t.Errorf("file delete ID file-never-existed exited %d, stdout %q, stderr %q; want 1, the first ID done and the second refused",
			res.code, res.stdout, res.stderr)
	}
}

// A File that never existed is answered 404 on the first attempt: an error, exit 1, and no word of
// a lost answer (through a proxy that passes every exchange).
func testFileDeleteNeverExisted(t *testing.T, bin string) {
	ts := newTestServer(t)
	res := newCLI(bin, behindProxy(t, ts)).run(t, "file", "delete", "file-never-existed")
	if res.code != 1 || res.stdout != "" || !strings.Contains(res.stderr, "No such File object: file-never-existed") ||
		strings.Contains(res.stderr, "lost") || strings.Contains(res.stderr, "gone") {
		t.Errorf("file delete of a File that never existed exited %d, stdout %q, stderr %q; want 1 and the 404", res.code, res.stdout, res.stderr)
	}
}

func testCancelLostAnswer(t *testing.T, bin string) {
	ts := newTestServer(t)
	direct := directClient(t, ts)
	up, err := direct.Create(context.Background(), uploads.CreateParams{Filename: "a.jsonl", Purpose: uploads.PurposeFineTune, Bytes: 3, MIMEType: "text/jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	c := newCLI(bin, behindProxy(t, ts, rule("POST", "/v1/uploads/*/cancel", 1, faultproxy.LoseAnswer)))
	res := c.run(t, "cancel", up.ID, "--json")
	if res.code != 0 || !strings.Contains(res.stderr, "already cancelled") {
		t.Fatalf("cancel exited %d, stderr %q", res.code, res.stderr)
	}
	if out := decodeJSON(t, res.stdout); out["id"] != up.ID || out["status"] != "cancelled" || out["bytes"] != nil {
		t.Errorf("cancel printed %v; want the ID and status, and nothing it does not know", out)
	}
	if got := apiStatus(t, direct, up.ID); got != uploads.UploadStatusCancelled {
		t.Errorf("the server has the upload %s", got)
	}
}

func testCompleteLostAnswer(t *testing.T, bin string) {
	ts := newTestServer(t)
	direct := directClient(t, ts)
	ctx := context.Background()
	up, err := direct.Create(ctx, uploads.CreateParams{Filename: "a.jsonl", Purpose: uploads.PurposeFineTune, Bytes: 3, MIMEType: "text/jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	part, err := direct.AddPart(ctx, up.ID, strings.NewReader("abc"))
	if err != nil {
		t.Fatal(err)
	}
	c := newCLI(bin, behindProxy(t, ts, rule("POST", "/v1/uploads/*/complete", 1, faultproxy.LoseAnswer)))
	res := c.run(t, "complete", up.ID, "--part", part.ID)
	if res.code != 0 || !strings.Contains(res.stderr, "already completed") {
		t.Fatalf("complete exited %d, stderr %q", res.code, res.stderr)
	}
	// stdout is not a terminal, where complete promises the File's ID: the File is not known, so
	// nothing goes there (the upload's ID would send a script on with the wrong object), and what
	// is known goes to stderr.
	if res.stdout != "" || !regexp.MustCompile(`(?m)^status\s+completed$`).MatchString(res.stderr) ||
		!regexp.MustCompile(`(?m)^upload\s+`+up.ID+`$`).MatchString(res.stderr) {
		t.Errorf("complete printed %q and %q; want nothing on stdout, and the upload and its status completed on stderr", res.stdout, res.stderr)
	}
	if got := apiStatus(t, direct, up.ID); got != uploads.UploadStatusCompleted {
		t.Errorf("the server has the upload %s", got)
	}
}

// add-part - reads the part from a pipe; it is sent once, and a failure that would have been
// retried says why it was not.
func testAddPartFromPipe(t *testing.T, bin string) {
	ts := newTestServer(t)
	direct := directClient(t, ts)
	ctx := context.Background()
	up, err := direct.Create(ctx, uploads.CreateParams{Filename: "a.jsonl", Purpose: uploads.PurposeFineTune, Bytes: 6, MIMEType: "text/jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	pipeTo := func(c cli, data string) result {
		cmd, stdout, stderr := c.command("add-part", up.ID, "-", "--json")
		w, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, data)
		w.Close()
		code := waitExit(t, cmd)
		return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	}

	res := pipeTo(newCLI(bin, ts.URL), "abc")
	if res.code != 0 {
		t.Fatalf("add-part - from a pipe exited %d: %s", res.code, res.stderr)
	}
	p1 := decodeJSON(t, res.stdout)["id"].(string)

	before := ts.requests.Load()
	unavailable := faultproxy.Rule{Method: "POST", Path: "/v1/uploads/*/parts", Nth: 1, Fault: faultproxy.Answer, Status: 503,
		Body: `{"error":{"message":"The server is overloaded.","type":"server_error","param":null,"code":null}}`}
	res = pipeTo(newCLI(bin, behindProxy(t, ts, unavailable)), "def")
	if res.code != 1 || !strings.Contains(res.stderr, "not retried: the part is read from a pipe") {
		t.Errorf("add-part - after a 503 exited %d, stderr %q; want 1 and why it was not retried", res.code, res.stderr)
	}
	if n := ts.requests.Load() - before; n != 0 {
		t.Errorf("%d requests reached the server after the proxy's 503, want none", n)
	}

	res = pipeTo(newCLI(bin, ts.URL), "def")
	if res.code != 0 {
		t.Fatalf("add-part -: exit %d: %s", res.code, res.stderr)
	}
	p2 := decodeJSON(t, res.stdout)["id"].(string)
	done, err := direct.Complete(ctx, up.ID, uploads.CompleteParams{PartIDs: []string{p1, p2}})
	if err != nil {
		t.Fatal(err)
	}
	body, err := direct.DownloadFile(ctx, done.File.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if string(got) != "abcdef" {
		t.Errorf("content %q, want abcdef", got)
	}
}
