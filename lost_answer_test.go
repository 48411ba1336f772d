package uploads

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uploadkit/uploads/internal/faultproxy"
	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store/sqlitestore"
)

// referenceServer starts the reference server on a SQLite store in a temporary directory, over
// loopback, and returns its address (without /v1). Its clock stands still, so that everything it
// creates is created in the same second.
func referenceServer(t *testing.T) string {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	srv, err := server.New(server.Config{
		Store:         st,
		APIKeys:       []string{testKey},
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		SweepInterval: -1,
		Now:           func() time.Time { return time.Unix(1758145015, 0) },
	})
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
		st.Close()
	})
	return hs.URL
}

// lossyClients returns a client that reaches the reference server through a proxy that applies
// rules, and one that reaches it directly, to check what the server holds. Both check every
// exchange against the spec, and retry without waiting.
func lossyClients(t *testing.T, rules ...faultproxy.Rule) (through, direct *Client, proxy *faultproxy.Proxy) {
	t.Helper()
	clearEnv(t)
	base := referenceServer(t)
	proxy = faultproxy.Start(base, rules...)
	t.Cleanup(proxy.Close)
	client := func(url string) *Client {
		hc := &http.Client{Transport: validator(t).RoundTripper(&http.Transport{}, specReport(t))}
		c, err := NewClient(WithAPIKey(testKey), WithBaseURL(url+"/v1"), WithHTTPClient(hc))
		if err != nil {
			t.Fatalf("NewClient: %v", err)
		}
		c.sleep = (&sleepRecorder{}).sleep
		c.jitter = func() float64 { return 0 }
		return c
	}
	return client(proxy.URL), client(base), proxy
}

// serverStatus asks the API what state an upload is in, without changing it: the API has no call
// that reads an upload, but it refuses to complete one that is not pending for its state before it
// looks at the parts, and a part that does not exist is refused for that.
func serverStatus(t *testing.T, c *Client, uploadID string) UploadStatus {
	t.Helper()
	_, err := c.Complete(context.Background(), uploadID, CompleteParams{PartIDs: []string{"part_that_does_not_exist"}})
	if status, _ := refusedAsAlready(err); status != "" {
		return status
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Param == "part_ids" {
		return UploadStatusPending
	}
	t.Fatalf("read the status of upload %s: %v", uploadID, err)
	return ""
}

// pendingUpload creates an upload of data through c and adds it as one part; it returns the
// upload and the part's ID.
func pendingUpload(t *testing.T, c *Client, data string) (*Upload, string) {
	t.Helper()
	ctx := context.Background()
	up, err := c.Create(ctx, CreateParams{Filename: "a.jsonl", Purpose: PurposeFineTune, Bytes: int64(len(data)), MIMEType: "text/jsonl"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	part, err := c.AddPart(ctx, up.ID, strings.NewReader(data))
	if err != nil {
		t.Fatalf("add part: %v", err)
	}
	return up, part.ID
}

// download reads the content of a File.
func download(t *testing.T, c *Client, fileID string) string {
	t.Helper()
	body, err := c.DownloadFile(context.Background(), fileID)
	if err != nil {
		t.Fatalf("download %s: %v", fileID, err)
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("download %s: %v", fileID, err)
	}
	return string(b)
}

var (
	loseFirst = func(route string) faultproxy.Rule {
		return faultproxy.Rule{Method: "POST", Path: "/v1/uploads/*/" + route, Nth: 1, Fault: faultproxy.LoseAnswer}
	}
	resetFirst = func(route string) faultproxy.Rule {
		return faultproxy.Rule{Method: "POST", Path: "/v1/uploads/*/" + route, Nth: 1, Fault: faultproxy.ResetBeforeForward}
	}
)

// Complete whose first answer is lost: the retry is refused as already completed, and Complete
// says the upload is completed, in an error that is not a refusal.
func TestCompleteAfterALostAnswer(t *testing.T) {
	c, direct, proxy := lossyClients(t, loseFirst("complete"))
	up, partID := pendingUpload(t, direct, `{"a":1}`)

	_, err := c.Complete(t.Context(), up.ID, CompleteParams{PartIDs: []string{partID}})
	var earlier *CompletedEarlierError
	if !errors.Is(err, ErrCompletedEarlier) || !errors.As(err, &earlier) {
		t.Fatalf("Complete: %v; want a CompletedEarlierError", err)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		t.Errorf("the error is also an *APIError (%v): a caller would take it for a refusal", apiErr)
	}
	if earlier.UploadID != up.ID || earlier.Lost == nil || earlier.Refusal == nil || !strings.Contains(err.Error(), "the upload is completed") {
		t.Errorf("error = %+v (%v)", earlier, err)
	}
	if got := serverStatus(t, direct, up.ID); got != UploadStatusCompleted {
		t.Errorf("the server has the upload %s", got)
	}
	if ev := proxy.Events(); len(ev) != 1 || ev[0].Status != 200 {
		t.Errorf("proxy events = %+v; want one lost 200", ev)
	}
}

// Complete refused as already completed on its first attempt is an ordinary refusal.
func TestCompleteOfACompletedUploadIsARefusal(t *testing.T) {
	_, direct, _ := lossyClients(t)
	up, partID := pendingUpload(t, direct, `{"a":1}`)
	if _, err := direct.Complete(t.Context(), up.ID, CompleteParams{PartIDs: []string{partID}}); err != nil {
		t.Fatal(err)
	}
	_, err := direct.Complete(t.Context(), up.ID, CompleteParams{PartIDs: []string{partID}})
	var apiErr *APIError
	if errors.Is(err, ErrCompletedEarlier) || !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Fatalf("second Complete: %v; want the API's refusal", err)
	}
}

// Complete whose first attempt is reset before it reaches the server completes on the retry.
func TestCompleteAfterAReset(t *testing.T) {
	c, direct, _ := lossyClients(t, resetFirst("complete"))
	up, partID := pendingUpload(t, direct, `{"a":1}`)
	done, err := c.Complete(t.Context(), up.ID, CompleteParams{PartIDs: []string{partID}})
	if err != nil || done.Status != UploadStatusCompleted || done.File == nil {
		t.Fatalf("Complete: %+v, %v", done, err)
	}
	if got := download(t, direct, done.File.ID); got != `{"a":1}` {
		t.Errorf("content %q", got)
	}
}

// Cancel whose first answer is lost succeeds: the upload is cancelled.
func TestCancelAfterALostAnswer(t *testing.T) {
	c, direct, _ := lossyClients(t, loseFirst("cancel"))
	up, _ := pendingUpload(t, direct, `{"a":1}`)
	var raw Response
	got, err := c.Cancel(t.Context(), up.ID, CaptureResponse(&raw))
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if got.ID != up.ID || got.Status != UploadStatusCancelled || !raw.AnswerLost {
		t.Errorf("Cancel returned %+v, captured %+v", got, raw)
	}
	if s := serverStatus(t, direct, up.ID); s != UploadStatusCancelled {
		t.Errorf("the server has the upload %s", s)
	}
}

// Cancel refused on its first attempt is a refusal, even when the upload is already cancelled; and
// a retry refused for another state (completed) is a refusal too.
func TestCancelRefusals(t *testing.T) {
	c, direct, _ := lossyClients(t, loseFirst("cancel"))
	cancelled, _ := pendingUpload(t, direct, `{"a":1}`)
	if _, err := direct.Cancel(t.Context(), cancelled.ID); err != nil {
		t.Fatal(err)
	}
	_, err := direct.Cancel(t.Context(), cancelled.ID)
	if status, _ := refusedAsAlready(err); status != UploadStatusCancelled {
		t.Errorf("Cancel of a cancelled upload: %v; want a refusal saying it is already cancelled", err)
	}

	completed, partID := pendingUpload(t, direct, `{"a":1}`)
	if _, err := direct.Complete(t.Context(), completed.ID, CompleteParams{PartIDs: []string{partID}}); err != nil {
		t.Fatal(err)
	}
	// The first attempt is refused and its answer lost; the retry is refused the same way.
	_, err = c.Cancel(t.Context(), completed.ID)
	if status, _ := refusedAsAlready(err); status != UploadStatusCompleted {
		t.Errorf("Cancel of a completed upload: %v; want a refusal saying it is already completed", err)
	}
}

// The text of an UploadError says what became of the upload, and nothing else, in every branch.
func TestUploadErrorSaysWhatBecameOfTheUpload(t *testing.T) {
	cause := errors.New("part 2 of 4: connection reset")
	cancelErr := errors.New("cancel upload upload_abc: 429 Too Many Requests")
	tests := []struct {
		e        UploadError
		want     []string
		mustNot  []string
		canceled bool
	}{
		{UploadError{Status: UploadStatusCancelled}, []string{"the upload was cancelled"}, []string{"expire", "completed", "unknown"}, true},
		{UploadError{Status: UploadStatusPending, CancelErr: cancelErr}, []string{"could not be cancelled", "429", "stays pending until it expires at 2025-09-17T22:36:55Z"}, []string{"completed", "unknown"}, false},
		{UploadError{Status: UploadStatusExpired}, []string{"has expired"}, []string{"cancel", "completed"}, false},
		{UploadError{Status: "", CancelErr: cancelErr}, []string{"whether the upload was cancelled is unknown", "429", "if it is still pending, it expires at 2025-09-17T22:36:55Z"}, []string{"completed"}, false},
		{UploadError{Status: UploadStatusCompleted}, []string{"completed nonetheless", "was not cancelled", "no File in the Files list matches it"}, []string{"expire", "could not be cancelled"}, false},
		{UploadError{Status: UploadStatusCompleted, Candidates: []File{{ID: "file-a"}, {ID: "file-b"}}}, []string{"completed nonetheless", "one of file-a, file-b"}, []string{"expire", "could not be cancelled"}, false},
		{UploadError{Status: UploadStatusCompleted, FindErr: errors.New("list files: 500")}, []string{"completed nonetheless", "could not be looked for: list files: 500"}, []string{"expire", "could not be cancelled"}, false},
	}
	for _, tt := range tests {
		e := tt.e
		e.UploadID, e.Filename, e.Err, e.ExpiresAt = "upload_abc", "train.jsonl", cause, 1758148615
		msg := e.Error()
		if !strings.HasPrefix(msg, "upload train.jsonl (upload_abc): part 2 of 4: connection reset; ") {
			t.Errorf("%q does not start with the upload and the cause", msg)
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("status %q: %q does not say %q", e.Status, msg, w)
			}
		}
		for _, w := range tt.mustNot {
			if strings.Contains(strings.TrimPrefix(msg, "upload train.jsonl (upload_abc): part 2 of 4: connection reset; "), w) {
				t.Errorf("status %q: %q says %q", e.Status, msg, w)
			}
		}
		if e.Cancelled() != tt.canceled || !errors.Is(&e, cause) {
			t.Errorf("status %q: Cancelled() = %v, unwraps to the cause: %v", e.Status, e.Cancelled(), errors.Is(&e, cause))
		}
	}
}
