package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/uploadkit/uploads"
	"github.com/uploadkit/uploads/internal/faultproxy"
)

// TestPutLostAnswers runs put through a proxy that loses answers or resets connections at each
// step of the upload, and checks that what it prints and its exit code match what the server
// holds afterwards.
func TestPutLostAnswers(t *testing.T) {
	testPutLostAnswers(t, buildCLI(t))
}

// filesNamed counts the Files of the given name on the server.
func filesNamed(t *testing.T, c *uploads.Client, name string) int {
	t.Helper()
	n := 0
	for f, err := range c.ListFiles(context.Background(), uploads.ListFilesParams{}) {
		if err != nil {
			t.Fatal(err)
		}
		if f.Filename == name {
			n++
		}
	}
	return n
}

// refuseComplete has the proxy refuse the first complete, so that put fails and cancels.
var refuseComplete = faultproxy.Rule{Method: "POST", Path: "/v1/uploads/*/complete", Nth: 1, Fault: faultproxy.Answer, Status: 400,
	Body: `{"error":{"message":"The MD5 checksum does not match.","type":"invalid_request_error","param":"md5","code":null}}`}

func testPutLostAnswers(t *testing.T, bin string) {
	type row struct {
		name  string
		rules []faultproxy.Rule
		want  uploads.UploadStatus // on the server afterwards
		exit  int
		// say is what stderr must hold (besides an empty stderr on success).
		say string
	}
	var rows []row
	for _, fault := range []faultproxy.Fault{faultproxy.LoseAnswer, faultproxy.ResetBeforeForward} {
		rows = append(rows,
			row{"create, " + fault.String(), []faultproxy.Rule{rule("POST", "/v1/uploads", 1, fault)}, uploads.UploadStatusCompleted, 0, ""},
			row{"part, " + fault.String(), []faultproxy.Rule{rule("POST", "/v1/uploads/*/parts", 2, fault)}, uploads.UploadStatusCompleted, 0, ""},
			row{"complete, " + fault.String(), []faultproxy.Rule{rule("POST", "/v1/uploads/*/complete", 1, fault)}, uploads.UploadStatusCompleted, 0, ""},
			row{"cancel, " + fault.String(), []faultproxy.Rule{refuseComplete, rule("POST", "/v1/uploads/*/cancel", 1, fault)},
				uploads.UploadStatusCancelled, 1, "the upload was cancelled"},
		)
	}
	rows = append(rows,
		row{"complete, every answer lost", []faultproxy.Rule{rule("POST", "/v1/uploads/*/complete", 0, faultproxy.LoseAnswer)},
			uploads.UploadStatusCompleted, 0, ""},
		row{"complete, answer lost, no File listed", []faultproxy.Rule{
			rule("POST", "/v1/uploads/*/complete", 1, faultproxy.LoseAnswer),
			{Method: "GET", Path: "/v1/files", Fault: faultproxy.Answer, Status: 200,
				Body: `{"object":"list","data":[],"has_more":false,"first_id":null,"last_id":null}`}},
			uploads.UploadStatusCompleted, 0, "completed, but the answer to complete was lost and no File in the Files list matches it"},
	)
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			ts := newTestServer(t)
			direct := directClient(t, ts)
			c := newCLI(bin, behindProxy(t, ts, row.rules...))
			path, data := writeRandomFile(t, "train.jsonl", 3*4096+100)

			res := c.run(t, "put", path, "--purpose", "fine-tune", "--part-size", "4KiB", "--concurrency", "1", "--json")
			if res.code != row.exit || !strings.Contains(res.stderr, row.say) || (row.say == "" && res.stderr != "") {
				t.Fatalf("put exited %d with stderr %q; want %d and %q\nstdout: %s", res.code, res.stderr, row.exit, row.say, res.stdout)
			}
			var uploadID string
			if res.code == 0 {
				out := decodeJSON(t, res.stdout)
				if out["object"] != "upload" || out["status"] != string(row.want) {
					t.Fatalf("put printed %v, want an upload %s", out, row.want)
				}
				uploadID = out["id"].(string)
				if file, ok := out["file"].(map[string]any); ok {
					back, err := direct.DownloadFile(context.Background(), file["id"].(string))
					if err != nil {
						t.Fatal(err)
					}
					got, _ := io.ReadAll(back)
					back.Close()
					if !bytes.Equal(got, data) {
						t.Fatalf("the File put reported holds %d bytes that differ from the %d of the file", len(got), len(data))
					}
				} else if row.say == "" {
					t.Fatalf("put printed %v, with no File", out)
				}
				if n := filesNamed(t, direct, "train.jsonl"); n != 1 {
					t.Errorf("the server holds %d Files, want 1", n)
				}
			} else {
				m := regexpUploadID.FindString(res.stderr)
				if m == "" {
					t.Fatalf("the error names no upload: %s", res.stderr)
				}
				uploadID = m
			}
			if got := apiStatus(t, direct, uploadID); got != row.want {
				t.Errorf("the server has upload %s %s, want %s", uploadID, got, row.want)
			}
		})
	}
}

var regexpUploadID = regexp.MustCompile(`upload_[0-9a-f]{32}`)

// TestPutLostAnswerFileUnknownForScripts: when the answer to complete is lost and no File can be told
// apart, put run by a script (stdout not a terminal, no --json) exits 0, since the upload completed,
// and prints no ID where the File's ID is promised.
func TestPutLostAnswerFileUnknownForScripts(t *testing.T) {
	bin := buildCLI(t)
	ts := newTestServer(t)
	direct := directClient(t, ts)
	c := newCLI(bin, behindProxy(t, ts,
		rule("POST", "/v1/uploads/*/complete", 1, faultproxy.LoseAnswer),
		faultproxy.Rule{Method: "GET", Path: "/v1/files", Fault: faultproxy.Answer, Status: 200,
			Body: `{"object":"list","data":[],"has_more":false,"first_id":null,"last_id":null}`}))
	path, _ := writeRandomFile(t, "train.jsonl", 3*4096+100)

	res := c.run(t, "put", path, "--purpose", "fine-tune", "--part-size", "4KiB", "--concurrency", "1")
	if res.code != 0 || res.stdout != "" {
		t.Fatalf("put exited %d and printed %q on stdout; want 0 and nothing\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	id := regexpUploadID.FindString(res.stderr)
	if id == "" || !strings.Contains(res.stderr, "completed, but the answer to complete was lost") ||
		!regexp.MustCompile(`(?m)^status\s+completed$`).MatchString(res.stderr) {
		t.Fatalf("put said %q; want the upload named as completed", res.stderr)
	}
	if got := apiStatus(t, direct, id); got != uploads.UploadStatusCompleted {
		t.Errorf("the server has upload %s %s, want completed", id, got)
	}
	if n := filesNamed(t, direct, "train.jsonl"); n != 1 {
		t.Errorf("the server holds %d Files, want 1", n)
	}
}
