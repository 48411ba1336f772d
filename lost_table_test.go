package uploads

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uploadkit/uploads/internal/faultproxy"
)

// lostAnswerRow is one way the network fails during UploadReaderAt, and what the call must report.
type lostAnswerRow struct {
	name  string
	rules []faultproxy.Rule
	// maxRetries is the client's setting (the default when 0, none when -1).
	maxRetries int
	// timeout is the client's attempt timeout (none when 0).
	timeout time.Duration
	// before runs against the server, directly, before the upload.
	before func(t *testing.T, direct *Client, data []byte)
	// want is the upload's status on the server afterwards; a report of success must say
	// completed, and an *UploadError must say want.
	want UploadStatus
	// success is whether the call must succeed.
	success bool
	// candidates is how many Files an *UploadError of a completed upload names.
	candidates int
}

// refuseFirstComplete has the proxy refuse the first complete, so that the upload fails and is
// cancelled.
var refuseFirstComplete = faultproxy.Rule{Method: "POST", Path: "/v1/uploads/*/complete", Nth: 1, Fault: faultproxy.Answer, Status: 400,
	Body: `{"error":{"message":"The MD5 checksum does not match.","type":"invalid_request_error","param":"md5","code":null}}`}

// lostAnswerRows is the table of the issue: each step of an upload whose answer is lost after the
// server handled it, or whose connection is reset before the server saw it.
func lostAnswerRows() []lostAnswerRow {
	var rows []lostAnswerRow
	for _, fault := range []faultproxy.Fault{faultproxy.LoseAnswer, faultproxy.ResetBeforeForward} {
		on := func(path string, nth int) faultproxy.Rule {
			return faultproxy.Rule{Method: "POST", Path: path, Nth: nth, Fault: fault}
		}
		rows = append(rows,
			lostAnswerRow{name: "create, " + fault.String(), rules: []faultproxy.Rule{on("/v1/uploads", 1)}, want: UploadStatusCompleted, success: true},
			lostAnswerRow{name: "part, " + fault.String(), rules: []faultproxy.Rule{on("/v1/uploads/*/parts", 2)}, want: UploadStatusCompleted, success: true},
			lostAnswerRow{name: "complete, " + fault.String(), rules: []faultproxy.Rule{on("/v1/uploads/*/complete", 1)}, want: UploadStatusCompleted, success: true},
			lostAnswerRow{name: "cancel, " + fault.String(), rules: []faultproxy.Rule{refuseFirstComplete, on("/v1/uploads/*/cancel", 1)}, want: UploadStatusCancelled},
		)
	}
	return append(rows,
		// Complete is not retried: the cancel is refused as completed, and the File is found.
		lostAnswerRow{name: "complete, answer lost, no retries", maxRetries: -1,
			rules: []faultproxy.Rule{loseFirst("complete")}, want: UploadStatusCompleted, success: true},
		// Complete's answer stalls until the attempt times out: the same as a lost answer.
		lostAnswerRow{name: "complete, answer stalled past the attempt timeout", timeout: time.Second,
			rules: []faultproxy.Rule{{Method: "POST", Path: "/v1/uploads/*/complete", Nth: 1, Fault: faultproxy.StallAnswer}},
			want:  UploadStatusCompleted, success: true},
		// Complete and its retries lost: the cancel is refused as completed, and the File is found.
		lostAnswerRow{name: "complete, every answer lost",
			rules: []faultproxy.Rule{{Method: "POST", Path: "/v1/uploads/*/complete", Fault: faultproxy.LoseAnswer}}, want: UploadStatusCompleted, success: true},
		// A File just like the one the upload makes already exists: which one is the upload's
		// cannot be told, and the error says the upload completed and names both.
		lostAnswerRow{name: "complete, answer lost, two Files match",
			rules: []faultproxy.Rule{loseFirst("complete")}, want: UploadStatusCompleted, candidates: 2,
			before: func(t *testing.T, direct *Client, data []byte) {
				if _, err := direct.UploadReaderAt(t.Context(), bytes.NewReader(data), int64(len(data)), lostAnswerParams()); err != nil {
					t.Fatal(err)
				}
			}},
		// The Files list shows nothing: the error says the upload completed, and no File matches.
		lostAnswerRow{name: "complete, answer lost, no File listed",
			rules: []faultproxy.Rule{loseFirst("complete"), {Method: "GET", Path: "/v1/files", Fault: faultproxy.Answer, Status: 200,
				Body: `{"object":"list","data":[],"has_more":false,"first_id":null,"last_id":null}`}},
			want: UploadStatusCompleted},
		// The cancel fails for good after a failure: the upload is still pending, and said to be.
		lostAnswerRow{name: "cancel refused after a failure", maxRetries: -1,
			rules: []faultproxy.Rule{refuseFirstComplete, {Method: "POST", Path: "/v1/uploads/*/cancel", Fault: faultproxy.Answer, Status: 429,
				Body: `{"error":{"message":"Rate limit reached.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`}},
			want: UploadStatusPending},
	)
}

func lostAnswerParams() UploadFileParams {
	return UploadFileParams{Filename: "train.jsonl", Purpose: PurposeFineTune, PartSize: 1000, Concurrency: 1, MD5: true}
}

// Every row of the table: the report of UploadReaderAt matches what the server holds afterwards,
// and a reported success has the content uploaded.
func TestUploadReaderAtLostAnswers(t *testing.T) {
	data := testData(3500) // four parts
	for _, row := range lostAnswerRows() {
		t.Run(row.name, func(t *testing.T) {
			c, direct, proxy := lossyClients(t, row.rules...)
			switch row.maxRetries {
			case -1:
				c.maxRetries = 0
			case 0:
			default:
				c.maxRetries = row.maxRetries
			}
			c.timeout = row.timeout
			if row.before != nil {
				row.before(t, direct, data)
			}
			up, err := c.UploadReaderAt(t.Context(), bytes.NewReader(data), int64(len(data)), lostAnswerParams())
			uploadID := ""
			if err == nil {
				if !row.success {
					t.Fatalf("UploadReaderAt succeeded (%+v); want an *UploadError saying %s", up, row.want)
				}
				if up.Status != UploadStatusCompleted || up.File == nil {
					t.Fatalf("UploadReaderAt returned %+v", up)
				}
				if got := download(t, direct, up.File.ID); got != string(data) {
					t.Fatalf("the File reported holds %d bytes that differ from the %d uploaded", len(got), len(data))
				}
				uploadID = up.ID
			} else {
				var ue *UploadError
				if row.success || !errors.As(err, &ue) {
					t.Fatalf("UploadReaderAt: %v; want success: %v", err, row.success)
				}
				if ue.Status != row.want || len(ue.Candidates) != row.candidates {
					t.Errorf("UploadError says %q with %d candidates, want %q with %d: %v", ue.Status, len(ue.Candidates), row.want, row.candidates, err)
				}
				if row.want == UploadStatusCompleted && (strings.Contains(err.Error(), "the upload was cancelled") || strings.Contains(err.Error(), "expire")) {
					t.Errorf("the error of a completed upload speaks of cancelling: %v", err)
				}
				uploadID = ue.UploadID
			}
			if got := serverStatus(t, direct, uploadID); got != row.want {
				t.Errorf("the server has the upload %s, want %s", got, row.want)
			}
			// A File was made only for a completed upload, and once.
			files := 0
			for f, err := range direct.ListFiles(t.Context(), ListFilesParams{}) {
				if err != nil {
					t.Fatal(err)
				}
				if f.Filename == "train.jsonl" {
					files++
				}
			}
			wantFiles := 0
			if row.want == UploadStatusCompleted {
				wantFiles = max(1, row.candidates)
			}
			if files != wantFiles {
				t.Errorf("the server holds %d Files, want %d", files, wantFiles)
			}
			// An answer lost to Create leaves a pending upload behind, which expires on its own.
			for _, ev := range proxy.Events() {
				if ev.Fault == faultproxy.LoseAnswer && ev.Path == "/v1/uploads" {
					var orphan Upload
					if err := json.Unmarshal(ev.Body, &orphan); err != nil || orphan.ID == uploadID {
						t.Fatalf("lost answer %s: %v", ev.Body, err)
					}
					if got := serverStatus(t, direct, orphan.ID); got != UploadStatusPending {
						t.Errorf("the upload whose creation was lost is %s, want pending", got)
					}
				}
			}
		})
	}
}
