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
	// stdout is not a terminal: the ID alone, and what is known on stderr.
	if res.stdout != up.ID+"\n" || !regexp.MustCompile(`(?m)^status\s+completed$`).MatchString(res.stderr) {
		t.Errorf("complete printed %q and %q; want the upload's ID, and its status completed", res.stdout, res.stderr)
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
