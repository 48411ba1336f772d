package uploads

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store"
)

// An answer that is no error envelope gives its first 200 bytes, on one line, as the message:
// all of a body of exactly 200, a cut and an ellipsis after 200, never half a character, and
// only the ellipsis when no character starts in the first 200 bytes.
func TestNonJSONErrorSnippet(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	for _, tc := range []struct {
		name, body, want string
	}{
		{"exactly the limit", a(200), a(200)},
		{"one byte over", a(201), a(200) + "…"},
		{"a character across the cut", a(199) + "é" + a(10), a(199) + "…"},
		{"a character ending at the cut", a(198) + "é" + a(10), a(198) + "é…"},
		{"no character starts", strings.Repeat("\x80", 300), "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("x-request-id", "req_test")
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(tc.body))
			})
			c, _ := newTestClient(t, f, specReport(t, "Content-Type", "failed to decode response body"))
			_, err := c.Cancel(t.Context(), "upload_abc")
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("Cancel: got %T %v, want an *APIError", err, err)
			}
			if apiErr.Message != tc.want {
				t.Errorf("Message = %q, want %q", apiErr.Message, tc.want)
			}
		})
	}
}

// APIError.Error puts the details in parentheses only when there are some, and the operation
// first only when there is one.
func TestAPIErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  APIError
		want string
	}{
		{APIError{StatusCode: 401}, "401 Unauthorized"},
		{APIError{Operation: "cancel upload upload_abc", StatusCode: 401}, "cancel upload upload_abc: 401 Unauthorized"},
		{APIError{StatusCode: 400, Message: "Bad."}, "400 Bad Request: Bad."},
		{APIError{StatusCode: 400, Type: "invalid_request_error"}, "400 Bad Request (type invalid_request_error)"},
		{APIError{StatusCode: 404, Code: "not_found"}, "404 Not Found (code not_found)"},
		{APIError{StatusCode: 400, Param: "bytes"}, "400 Bad Request (param bytes)"},
		{APIError{StatusCode: 500, RequestID: "req_1"}, "500 Internal Server Error (request req_1)"},
		{APIError{Operation: "op", StatusCode: 400, Message: "m", Type: "t", Code: "c", Param: "p", RequestID: "r"},
			"op: 400 Bad Request: m (type t, code c, param p, request r)"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// ListFiles takes a Limit of 1 and of MaxListLimit, the ends of its range, and the reference
// server lists every File with either.
func TestListFilesLimitBounds(t *testing.T) {
	fs := newFaultyServer(t, server.Faults{}, server.RateLimit{})
	c, _ := fs.client(false)
	var want []string
	for range 3 {
		up, err := c.Create(t.Context(), CreateParams{Filename: "a.jsonl", Purpose: PurposeBatch, Bytes: 2, MIMEType: "text/jsonl"})
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		part, err := c.AddPart(t.Context(), up.ID, strings.NewReader("{}"))
		if err != nil {
			t.Fatalf("AddPart: %v", err)
		}
		done, err := c.Complete(t.Context(), up.ID, CompleteParams{PartIDs: []string{part.ID}})
		if err != nil || done.File == nil {
			t.Fatalf("Complete: %v, %+v", err, done)
		}
		want = append(want, done.File.ID)
		fs.advance(time.Second) // one File a second: the list's order is theirs
	}
	slices.Reverse(want) // newest first
	for _, limit := range []int{1, MaxListLimit} {
		got, err := collect(t, c.ListFiles(t.Context(), ListFilesParams{Limit: limit}))
		if err != nil {
			t.Fatalf("ListFiles with Limit %d: %v", limit, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListFiles with Limit %d = %v, want %v", limit, got, want)
		}
	}
}

// The next page starts after the page's last_id, which is the API's word even where it differs
// from the last File of the data; an empty last_id counts as none, and the last File is used.
func TestListFilesCursor(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lastID    any
		wantAfter string
	}{
		{"last_id names the cursor", "file-z", "file-z"},
		{"an empty last_id", "", "file-b"},
		{"no last_id", nil, "file-b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var afters []string
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				after := r.URL.Query().Get("after")
				mu.Lock()
				afters = append(afters, after)
				mu.Unlock()
				page := map[string]any{"object": "list", "data": []any{fileJSON("file-a", 1000), fileJSON("file-b", 1001)},
					"has_more": true, "first_id": "file-a", "last_id": tc.lastID}
				if after != "" {
					page = map[string]any{"object": "list", "data": []any{fileJSON("file-c", 1002)},
						"has_more": false, "first_id": "file-c", "last_id": "file-c"}
				}
				b, _ := json.Marshal(page)
				writeJSON(w, http.StatusOK, b)
			})
			c, _ := newTestClient(t, f, func(error) {}) // an empty last_id breaks the spec on purpose
			got, err := collect(t, c.ListFiles(t.Context(), ListFilesParams{}))
			if err != nil {
				t.Fatalf("ListFiles: %v", err)
			}
			if want := []string{"file-a", "file-b", "file-c"}; !slices.Equal(got, want) {
				t.Errorf("ListFiles = %v, want %v", got, want)
			}
			mu.Lock()
			defer mu.Unlock()
			if want := []string{"", tc.wantAfter}; !slices.Equal(afters, want) {
				t.Errorf("pages asked after %q, want %q", afters, want)
			}
		})
	}
}

// An answer is read as the API's error envelope when its error holds a message or a type, either
// alone; JSON of another shape is no envelope, and its start becomes the message, as any other
// body's does.
func TestErrorEnvelopeOrNot(t *testing.T) {
	for _, tc := range []struct {
		name, body      string
		message, errTyp string
	}{
		{"a message alone", `{"error":{"message":"Only a message."}}`, "Only a message.", ""},
		{"a type alone", `{"error":{"type":"server_error"}}`, "", "server_error"},
		{"JSON of another shape", `{"status":"unavailable"}`, `{"status":"unavailable"}`, ""},
		{"an empty error", `{"error":{}}`, `{"error":{}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusBadRequest, []byte(tc.body))
			})
			c, _ := newTestClient(t, f, func(error) {}) // the bodies break the spec on purpose
			_, err := c.Cancel(t.Context(), "upload_abc")
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("Cancel: got %T %v, want an *APIError", err, err)
			}
			if apiErr.Message != tc.message || apiErr.Type != tc.errTyp {
				t.Errorf("Message %q, Type %q; want %q, %q", apiErr.Message, apiErr.Type, tc.message, tc.errTyp)
			}
		})
	}
}

// A refusal names the status an upload is already in only in a 400 or a 409: the same words in
// an answer of any other status (a 404 saying a link expired, a 500) say nothing about the upload.
func TestRefusedAsAlreadyOnlyIn400Or409(t *testing.T) {
	messages := map[string]UploadStatus{
		"Cannot complete upload 'upload_abc': it is already completed.": UploadStatusCompleted,
		"Cannot cancel upload 'upload_abc': it is already cancelled.":   UploadStatusCancelled,
		"Cannot add a part to upload 'upload_abc': it is expired.":      UploadStatusExpired,
	}
	for _, status := range []int{200, 400, 401, 403, 404, 408, 409, 410, 422, 429, 500, 502, 503} {
		for msg, in := range messages {
			want := UploadStatus("")
			if status == http.StatusBadRequest || status == http.StatusConflict {
				want = in
			}
			err := fmt.Errorf("complete upload upload_abc: %w", &APIError{StatusCode: status, Message: msg})
			got, refusal := refusedAsAlready(err)
			if got != want || (want != "") != (refusal != nil) {
				t.Errorf("status %d, %q: %q, refusal %v; want %q", status, msg, got, refusal, want)
			}
		}
	}
}

// CompletedEarlierError says how the retry was refused when it knows, and still reads well when
// it does not.
func TestCompletedEarlierErrorText(t *testing.T) {
	lost := errors.New("connection reset")
	e := &CompletedEarlierError{Operation: "complete upload upload_abc", UploadID: "upload_abc", Lost: lost,
		Refusal: &APIError{StatusCode: 400, Message: "Cannot complete upload 'upload_abc': it is already completed."}}
	want := "complete upload upload_abc: the upload is completed, by an earlier attempt whose answer was lost (connection reset)" +
		"; the retry was refused: 400 Cannot complete upload 'upload_abc': it is already completed."
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e.Refusal = nil
	want = "complete upload upload_abc: the upload is completed, by an earlier attempt whose answer was lost (connection reset)"
	if got := e.Error(); got != want {
		t.Errorf("without a refusal, Error() = %q, want %q", got, want)
	}
}

// The fingerprint is part of the journal's format, so a journal written by one version is read
// the same by the next: the SHA-256 of the first MiB followed by the last MiB after it (the whole
// input when it is at most 2 MiB, each byte once).
func TestFingerprintIsTheFirstAndTheLastMiB(t *testing.T) {
	const mib = 1 << 20
	for _, size := range []int{1, 100, mib - 1, mib, mib + 1, 3 * mib / 2, 2 * mib, 2*mib + 1, 3 * mib} {
		data := testData(size)
		hashed := data
		if size > 2*mib {
			hashed = append(bytes.Clone(data[:mib]), data[size-mib:]...)
		}
		sum := sha256.Sum256(hashed)
		got, err := fingerprint(bytes.NewReader(data), int64(size))
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if want := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("size %d: fingerprint %s, want %s", size, got, want)
		}
	}
}

// A journal's header is whole from a part size and a source of one byte on; a part record is kept
// only for an index the source has (index 9 of 100 bytes in parts of 10, not 10), and reading
// stops at the first that is not.
func TestParseJournalBounds(t *testing.T) {
	journalOf := func(partSize, size int64, indexes ...int) []byte {
		t.Helper()
		buf, err := appendRecord(nil, journalHeader{Version: journalVersion, UploadID: "upload_abc", ExpiresAt: 1, Filename: "a",
			Purpose: PurposeBatch, PartSize: partSize, Source: source{Size: size, Fingerprint: "f"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range indexes {
			if buf, err = appendRecord(buf, journalPart{Index: i, ID: fmt.Sprintf("part_%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		return buf
	}
	for _, tc := range []struct {
		name    string
		data    []byte
		want    []int // the indexes read
		wantErr string
	}{
		{"one-byte parts of a one-byte source", journalOf(1, 1, 0), []int{0}, ""},
		{"the last part", journalOf(10, 100, 0, 9), []int{0, 9}, ""},
		{"an index past the last part", journalOf(10, 100, 0, 10, 9), []int{0}, ""},
		{"an index past the last, short part", journalOf(10, 95, 0, 10, 9), []int{0}, ""},
		{"a part size of zero", journalOf(0, 100), nil, "incomplete"},
		{"an empty source", journalOf(10, 0), nil, "incomplete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, parts, err := parseJournal(tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseJournal: %v, want an error saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseJournal: %v", err)
			}
			got := slices.Sorted(maps.Keys(parts))
			if !slices.Equal(got, tc.want) {
				t.Errorf("parts %v, want %v", got, tc.want)
			}
		})
	}
}

// Only the API refusing a request for good (a 4xx other than 408, 409 and 429) makes an upload
// not worth keeping for a resume: every other status, and any failure that is no answer, is.
func TestResumableStatuses(t *testing.T) {
	for status := 100; status < 600; status++ {
		want := status < 400 || status >= 500 || status == 408 || status == 409 || status == 429
		err := fmt.Errorf("add a part: %w", &APIError{StatusCode: status})
		if got := resumable(err); got != want {
			t.Errorf("resumable(%d) = %v, want %v", status, got, want)
		}
	}
	if !resumable(errors.New("connection reset")) {
		t.Error("a failure that is no answer is not resumable")
	}
}

// gone is true only for an upload refused as expired or cancelled: one refused as completed is
// not gone, its File exists.
func TestGoneOnlyWhenExpiredOrCancelled(t *testing.T) {
	for msg, want := range map[string]UploadStatus{
		"Cannot add a part to upload 'upload_abc': it is already completed.": "",
		"Cannot add a part to upload 'upload_abc': it is already cancelled.": UploadStatusCancelled,
		"Cannot add a part to upload 'upload_abc': it is expired.":           UploadStatusExpired,
		"Something else.": "",
	} {
		status, ok := gone(&APIError{StatusCode: http.StatusBadRequest, Message: msg})
		if ok != (want != "") || (ok && status != want) {
			t.Errorf("gone(%q) = %q, %v; want %q", msg, status, ok, want)
		}
	}
}

// An extension the client does not list itself gets the system's type, without parameters (Go
// knows .css as "text/css; charset=utf-8", and .svg, on every system).
func TestGuessMIMETypeFromTheSystem(t *testing.T) {
	for name, want := range map[string]string{"style.css": "text/css", "logo.svg": "image/svg+xml", "a.unknown-ext": "application/octet-stream"} {
		if got := GuessMIMEType(name); got != want {
			t.Errorf("GuessMIMEType(%q) = %q, want %q", name, got, want)
		}
	}
}

// A client's defaults are the documented ones (two retries, 60 seconds an attempt, 60 seconds of
// stall); zero is taken for each and turns it off, and a negative stall timeout is refused like a
// negative timeout.
func TestClientLimitsDefaultsAndZero(t *testing.T) {
	clearEnv(t)
	c, err := NewClient(WithAPIKey(testKey))
	if err != nil {
		t.Fatal(err)
	}
	if c.maxRetries != 2 || c.timeout != 60*time.Second || c.stallTimeout != 60*time.Second {
		t.Errorf("defaults: %d retries, timeout %v, stall timeout %v; want 2, 1m0s, 1m0s", c.maxRetries, c.timeout, c.stallTimeout)
	}
	c, err = NewClient(WithAPIKey(testKey), WithMaxRetries(0), WithTimeout(0), WithStallTimeout(0))
	if err != nil {
		t.Fatalf("NewClient with zero retries and timeouts: %v", err)
	}
	if c.maxRetries != 0 || c.timeout != 0 || c.stallTimeout != 0 {
		t.Errorf("zero: %d retries, timeout %v, stall timeout %v; want all zero", c.maxRetries, c.timeout, c.stallTimeout)
	}
	if _, err := NewClient(WithAPIKey(testKey), WithStallTimeout(-time.Second)); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("NewClient with a negative stall timeout: %v, want an error saying it is negative", err)
	}
}

// A part of exactly MaxPartSize is sent whole: the limit is the largest part, not the first one
// refused.
func TestAddPartOfExactlyTheLimit(t *testing.T) {
	var mu sync.Mutex
	var got int64
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		p, err := multipart.NewReader(r.Body, params["boundary"]).NextPart()
		if err != nil {
			t.Errorf("read the form: %v", err)
			return
		}
		n, err := io.Copy(io.Discard, p)
		if err != nil {
			t.Errorf("read the part: %v", err)
		}
		mu.Lock()
		got = n
		mu.Unlock()
		writeJSON(w, http.StatusOK, fixture(t, "add-part-200.json"))
	})
	c, _ := newTestClient(t, f, nil)
	if _, err := c.AddPart(t.Context(), "upload_abc", io.NewSectionReader(zeroReaderAt{}, 0, MaxPartSize)); err != nil {
		t.Fatalf("AddPart of exactly %d bytes: %v", MaxPartSize, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got != MaxPartSize {
		t.Errorf("the server got a part of %d bytes, want %d", got, MaxPartSize)
	}
}

// A wait of zero is a wait the server asked for, in milliseconds as in seconds; a wait too large
// for a Duration is capped, never wrapped around into a negative one.
func TestRetryAfterZeroAndHuge(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		key, value string
		want       time.Duration
	}{
		{"retry-after-ms", "0", 0},
		{"retry-after", "0", 0},
		{"retry-after-ms", "1e300", maxRetryAfter},
		{"retry-after", "1e300", maxRetryAfter},
	} {
		got, ok := retryAfter(http.Header{http.CanonicalHeaderKey(tc.key): {tc.value}}, now)
		if got != tc.want || !ok {
			t.Errorf("retryAfter(%s: %s) = %v, %v; want %v, true", tc.key, tc.value, got, ok, tc.want)
		}
	}
}

// A journal created again on a resume keeps every part it is given, the last one included.
func TestCreateJournalKeepsEveryPart(t *testing.T) {
	for _, size := range []int64{100, 95, 91} { // ten parts of 10 bytes; the last one full or short
		head := journalHeader{Version: journalVersion, UploadID: "upload_abc", ExpiresAt: 1, Filename: "a", Purpose: PurposeBatch,
			PartSize: 10, Source: source{Size: size, Fingerprint: "f"}}
		parts := map[int]string{}
		for i := range 10 {
			parts[i] = fmt.Sprintf("part_%d", i)
		}
		path := filepath.Join(t.TempDir(), "j", "a.journal")
		j, err := createJournal(path, head, parts)
		if err != nil {
			t.Fatal(err)
		}
		j.close()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		gotHead, got, err := parseJournal(data)
		if err != nil || gotHead != head || !maps.Equal(got, parts) {
			t.Errorf("size %d: journal read back as %+v, %v, %v; want %+v, %v", size, gotHead, got, err, head, parts)
		}
	}
}

// A part that cannot be recorded is named by its number, counted from 1, in the error.
func TestJournalRecordErrorNamesThePart(t *testing.T) {
	head := journalHeader{Version: journalVersion, UploadID: "upload_abc", ExpiresAt: 1, Filename: "a", Purpose: PurposeBatch,
		PartSize: 10, Source: source{Size: 100, Fingerprint: "f"}}
	j, err := createJournal(filepath.Join(t.TempDir(), "a.journal"), head, nil)
	if err != nil {
		t.Fatal(err)
	}
	j.close() // its file closed, the journal can no longer be written
	err = j.record(3, "part_d")
	if err == nil || !strings.Contains(err.Error(), "journal: record part 4: ") {
		t.Errorf("record of index 3 in a closed journal: %v, want an error naming part 4", err)
	}
}

// The event of a journal whose upload is gone counts the parts of the whole upload, as the resume
// did.
func TestJournalEventOfAGoneUploadCountsItsParts(t *testing.T) {
	f := newResumeFixture(t)
	first := f.interrupt(t, 2)
	if _, err := f.c.Cancel(context.Background(), first.UploadID); err != nil {
		t.Fatal(err)
	}
	f.finish(t)
	if len(f.events) != 2 || f.events[1].Parts != 10 || f.events[1].PartsSent != 2 {
		t.Errorf("events %+v, want the second to count 2 of 10 parts", f.events)
	}
}

// The journal records expires_after in seconds, as CreateParams sends it: the header is part of
// the journal's format.
func TestJournalHeaderExpiresAfterInSeconds(t *testing.T) {
	f := newResumeFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := f.params()
	p.ExpiresAfter = 2 * time.Hour
	p.Progress = func(pr Progress) {
		if pr.PartsDone >= 1 {
			cancel()
		}
	}
	if _, err := f.c.UploadFile(ctx, f.path, p); err == nil {
		t.Fatal("the interrupted upload succeeded")
	}
	data, err := os.ReadFile(f.journal)
	if err != nil {
		t.Fatal(err)
	}
	head, _, err := parseJournal(data)
	if err != nil || head.ExpiresAfter != 7200 {
		t.Errorf("journal header %+v, %v; want expires_after 7200", head, err)
	}
}

// A journal that cannot be created fails the upload before any part is sent, and the new
// upload is cancelled rather than left pending with nothing to resume it. The journal's name is
// one a file may have, but the temporary file it is written to first has a longer one, too long.
func TestUploadFileJournalThatCannotBeCreated(t *testing.T) {
	f := newResumeFixture(t)
	p := f.params()
	p.Journal = filepath.Join(t.TempDir(), strings.Repeat("j", 250))
	_, err := f.c.UploadFile(context.Background(), f.path, p)
	var upErr *UploadError
	if !errors.As(err, &upErr) || upErr.Status != UploadStatusCancelled || upErr.Kept {
		t.Fatalf("UploadFile with a journal that cannot be created: %v, want an *UploadError with the upload cancelled", err)
	}
	if got := f.fs.upload(upErr.UploadID).Status; got != store.StatusCancelled {
		t.Errorf("the upload is %s on the server, want cancelled", got)
	}
}

// After a failure no new call can get past (a part refused with a 400), the journal goes when the
// upload's end is known (cancelled) and stays when the upload is or may still be pending (its
// cancel refused, or failed in a way that may have taken effect): a new call may still use it.
func TestJournalAfterAFailureForGood(t *testing.T) {
	for _, tc := range []struct {
		name         string
		cancelStatus int
		status       UploadStatus
		kept         bool
	}{
		{"cancelled", http.StatusOK, UploadStatusCancelled, false},
		{"the cancel refused", http.StatusBadRequest, UploadStatusPending, true},
		{"the cancel's effect unknown", http.StatusInternalServerError, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				switch {
				case strings.HasSuffix(r.URL.Path, "/parts"):
					writeJSON(w, http.StatusBadRequest, []byte(`{"error":{"message":"No.","type":"invalid_request_error","param":null,"code":null}}`))
				case strings.HasSuffix(r.URL.Path, "/cancel") && tc.cancelStatus != http.StatusOK:
					writeJSON(w, tc.cancelStatus, []byte(`{"error":{"message":"boom","type":"invalid_request_error","param":null,"code":null}}`))
				case strings.HasSuffix(r.URL.Path, "/cancel"):
					writeJSON(w, http.StatusOK, []byte(`{"id":"upload_x","object":"upload","bytes":10,"created_at":1,"expires_at":4102444800,"filename":"a","purpose":"batch","status":"cancelled"}`))
				case r.Method == http.MethodPost && r.URL.Path == "/v1/uploads":
					writeJSON(w, http.StatusOK, []byte(`{"id":"upload_x","object":"upload","bytes":10,"created_at":1,"expires_at":4102444800,"filename":"a","purpose":"batch","status":"pending"}`))
				default:
					t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
					w.WriteHeader(http.StatusTeapot)
				}
			})
			c, _ := newTestClient(t, fake, specReport(t), WithMaxRetries(0))
			journal := filepath.Join(t.TempDir(), "j")
			_, err := c.UploadReaderAt(context.Background(), bytes.NewReader(testData(10)), 10,
				UploadFileParams{Filename: "a", Purpose: PurposeBatch, Journal: journal})
			var upErr *UploadError
			if !errors.As(err, &upErr) || upErr.Status != tc.status {
				t.Fatalf("err = %v, want an *UploadError with the upload %s", err, tc.status)
			}
			if _, err := os.Stat(journal); (err == nil) != tc.kept {
				t.Errorf("journal kept: %v, want %v", err == nil, tc.kept)
			}
		})
	}
}

// The ends of UploadReaderAt's ranges are taken: one byte in parts of one byte, to the reference
// server; and 8 GiB in parts of 64 MiB, which pass the client's checks and reach the API (a fake
// here, which refuses the upload, so nothing is sent).
func TestUploadRangesTakeTheirEnds(t *testing.T) {
	fs := newFaultyServer(t, server.Faults{}, server.RateLimit{})
	c, _ := fs.client(false)
	for _, data := range []string{"x", "xyz"} {
		up, err := c.UploadReaderAt(t.Context(), strings.NewReader(data), int64(len(data)),
			UploadFileParams{Filename: "a.jsonl", Purpose: PurposeBatch, PartSize: 1, Concurrency: 1})
		if err != nil {
			t.Fatalf("UploadReaderAt of %d bytes in parts of 1: %v", len(data), err)
		}
		if got := fs.fileContent(up); string(got) != data {
			t.Errorf("the File holds %q, want %q", got, data)
		}
	}

	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusBadRequest, []byte(`{"error":{"message":"No.","type":"invalid_request_error","param":null,"code":null}}`))
	})
	fc, _ := newTestClient(t, f, nil)
	_, err := fc.UploadReaderAt(t.Context(), zeroReaderAt{}, MaxUploadSize,
		UploadFileParams{Filename: "a.jsonl", Purpose: PurposeBatch, PartSize: MaxPartSize})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Fatalf("UploadReaderAt of 8 GiB in parts of 64 MiB: %v, want the API's refusal", err)
	}
	if reqs := f.requests(); len(reqs) != 1 || reqs[0].Path != "/v1/uploads" {
		t.Errorf("requests %+v, want one create", reqs)
	}
}

// A part is sent under its file's base name, or "part" when it has none; from where a seekable
// reader stands, with a Content-Length that counts only what is left; and an empty part with a
// Content-Length too.
func TestAddPartNameSizeAndLength(t *testing.T) {
	type seen struct {
		data          string
		filename      string
		contentLength int64
	}
	var mu sync.Mutex
	var got seen
	f := newFakeAPI(t, partServer(t, func(r *http.Request, data []byte, filename string) {
		mu.Lock()
		defer mu.Unlock()
		got = seen{string(data), filename, r.ContentLength}
	}))
	c, _ := newTestClient(t, f, nil)
	path := filepath.Join(t.TempDir(), "train.jsonl")
	if err := os.WriteFile(path, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	advanced := strings.NewReader("skip:the rest")
	if _, err := advanced.Read(make([]byte, 5)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		data     io.Reader
		want     string
		filename string
	}{
		{"a file", file, "{}\n", "train.jsonl"},
		{"a reader partly read", advanced, "the rest", "part"},
		{"an empty reader", strings.NewReader(""), "", "part"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.AddPart(t.Context(), "upload_abc", tc.data); err != nil {
				t.Fatalf("AddPart: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if got.data != tc.want || got.filename != tc.filename {
				t.Errorf("sent %q as %q, want %q as %q", got.data, got.filename, tc.want, tc.filename)
			}
			frame, err := newFormFrame(tc.filename)
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(len(frame.head) + len(tc.want) + len(frame.tail)); got.contentLength != want {
				t.Errorf("Content-Length %d, want %d, the form's length", got.contentLength, want)
			}
		})
	}
}

// A part read from a pipe, whose size is unknown, is sent whole, without a Content-Length.
func TestAddPartFromAPipe(t *testing.T) {
	payload := testData(100_000)
	var mu sync.Mutex
	var got []byte
	var contentLength int64
	f := newFakeAPI(t, partServer(t, func(r *http.Request, data []byte, _ string) {
		mu.Lock()
		defer mu.Unlock()
		got, contentLength = data, r.ContentLength
	}))
	c, _ := newTestClient(t, f, nil)
	if _, err := c.AddPart(t.Context(), "upload_abc", pipeOf(t, payload)); err != nil {
		t.Fatalf("AddPart from a pipe: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !bytes.Equal(got, payload) || contentLength != -1 {
		t.Errorf("sent %d bytes with Content-Length %d, want %d bytes without one", len(got), contentLength, len(payload))
	}
}

// A watchdog armed again with no limit (a zero period) never trips, even if the timer of the
// period it replaced was already firing when it was stopped.
func TestWatchdogArmedWithNoLimitIgnoresALateTimer(t *testing.T) {
	var fires []func()
	now := time.Unix(1758145015, 0)
	tripped := 0
	w := &watchdog{
		afterFunc: func(_ time.Duration, f func()) func() bool {
			fires = append(fires, f)
			return func() bool { return false } // too late: the timer has fired
		},
		now:     func() time.Time { return now },
		trip:    func(error) { tripped++ },
		stopped: true,
	}
	w.arm(time.Minute, errors.New("stalled"))
	w.arm(0, nil)
	if len(fires) != 1 {
		t.Fatalf("%d timers set, want 1 (none for a zero period)", len(fires))
	}
	now = now.Add(time.Hour)
	fires[0]() // the late timer of the first period
	if tripped != 0 {
		t.Errorf("the watchdog tripped %d times after it was armed with no limit", tripped)
	}
}

// fakeDog is a watchdog on a clock the test moves, whose timers the test fires.
type fakeDog struct {
	*watchdog
	now     time.Time
	fires   []func()
	tripped int
}

func newFakeDog() *fakeDog {
	d := &fakeDog{now: time.Unix(1758145015, 0)}
	d.watchdog = &watchdog{
		afterFunc: func(_ time.Duration, f func()) func() bool {
			d.fires = append(d.fires, f)
			return func() bool { return true }
		},
		now:     func() time.Time { return d.now },
		trip:    func(error) { d.tripped++ },
		stopped: true,
	}
	return d
}

// A period in which the last byte moved exactly one period ago has ended: the watchdog trips
// then, rather than waiting on for no time at all.
func TestWatchdogTripsWhenThePeriodHasJustPassed(t *testing.T) {
	d := newFakeDog()
	d.arm(time.Minute, errors.New("stalled"))
	d.moved()
	d.now = d.now.Add(time.Minute)
	d.fires[0]()
	if d.tripped != 1 || len(d.fires) != 1 {
		t.Errorf("tripped %d times, %d timers set; want a trip and no new timer", d.tripped, len(d.fires))
	}
}

// A read that returns no byte is no move: a body or an answer that keeps returning nothing is
// stalled.
func TestEmptyReadsAreNoMove(t *testing.T) {
	for _, tc := range []struct {
		name string
		read func(d *fakeDog) (int, error)
	}{
		{"request body", func(d *fakeDog) (int, error) {
			b := &watchedBody{r: emptyReader{}, dog: d.watchdog, timeout: time.Minute}
			return b.Read(make([]byte, 10))
		}},
		{"answer", func(d *fakeDog) (int, error) {
			a := &watchedAnswer{ReadCloser: io.NopCloser(emptyReader{}), dog: d.watchdog, ctx: context.Background(), close: func() {}}
			return a.Read(make([]byte, 10))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newFakeDog()
			d.arm(time.Minute, errors.New("stalled"))
			d.now = d.now.Add(30 * time.Second)
			if n, err := tc.read(d); n != 0 || err != nil {
				t.Fatalf("read %d, %v", n, err)
			}
			d.now = d.now.Add(30 * time.Second)
			d.fires[0]()
			if d.tripped != 1 {
				t.Errorf("tripped %d times after a minute of empty reads, want 1", d.tripped)
			}
		})
	}
}

// emptyReader returns no byte and no error, for ever.
type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

// A change an interval or more after the last report is reported at once; one sooner waits for
// the interval's end.
func TestProgressReportedOnceTheIntervalHasPassed(t *testing.T) {
	now := time.Unix(1758145015, 0)
	var reports []Progress
	var later []func()
	c := &Client{now: func() time.Time { return now }, progressInterval: 200 * time.Millisecond,
		afterFunc: func(_ time.Duration, f func()) func() bool {
			later = append(later, f)
			return func() bool { return true }
		}}
	tr := c.newProgressTracker(func(p Progress) { reports = append(reports, p) }, &Upload{ID: "upload_abc", ExpiresAt: 1}, 100, 4)
	now = now.Add(199 * time.Millisecond)
	tr.add(10)
	if len(reports) != 1 || len(later) != 1 {
		t.Fatalf("a change 199 ms after the first report: %d reports, %d scheduled; want 1 and 1", len(reports), len(later))
	}
	later[0]()
	now = now.Add(200 * time.Millisecond) // exactly an interval after the last report
	tr.add(10)
	if len(reports) != 3 || len(later) != 1 || reports[2].Sent != 20 {
		t.Errorf("a change exactly an interval after the last report: reports %+v, %d scheduled; want it reported at once", reports, len(later))
	}
}

// A resumed upload's progress starts from the bytes of the parts sent before, its short last
// part counted for what it holds.
func TestResumedProgressCountsTheShortLastPart(t *testing.T) {
	f := newResumeFixture(t)
	f.data = testData(40<<10 + 100) // ten parts of 4 KiB and one of 100 bytes
	if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
		t.Fatal(err)
	}
	f.interrupt(t, 11) // every part sent, the upload not completed
	var reports []Progress
	p := f.params()
	p.Progress = func(pr Progress) { reports = append(reports, pr) }
	if _, err := f.c.UploadFile(context.Background(), f.path, p); err != nil {
		t.Fatalf("resumed upload: %v", err)
	}
	if len(reports) < 2 || reports[1].Sent != int64(len(f.data)) || reports[1].PartsDone != 11 {
		t.Errorf("reports %+v; want the second to count all %d bytes of the 11 parts sent before", reports, len(f.data))
	}
}

// A streamed answer whose transport fails a read with a bare context.Canceled, not the cause,
// still says the read failed because the answer stalled.
func TestStalledAnswerOfAPlainTransportSaysSo(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(&stallError{after: time.Minute})
	d := newFakeDog()
	a := &watchedAnswer{ReadCloser: io.NopCloser(failingReader{context.Canceled}), dog: d.watchdog, ctx: ctx, close: func() {}}
	_, err := a.Read(make([]byte, 10))
	var se *stallError
	if !errors.As(err, &se) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stalled") {
		t.Errorf("read of a stalled answer: %v, want the transport's error with the stall", err)
	}
}

// failingReader fails every read with err.
type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

// A journal is of the file it was written for: another file with the same content, size and
// modification time does not resume its upload.
func TestJournalOfAnotherFileWithTheSameContent(t *testing.T) {
	f := newResumeFixture(t)
	first := f.interrupt(t, 2)
	info, err := os.Stat(f.path)
	if err != nil {
		t.Fatal(err)
	}
	twin := filepath.Join(filepath.Dir(f.path), "twin", filepath.Base(f.path))
	if err := os.MkdirAll(filepath.Dir(twin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(twin, f.data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(twin, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	f.path = twin
	up := f.finish(t)
	if up.ID == first.UploadID || len(f.events) != 1 || !strings.HasPrefix(f.events[0].Reason, "the journal is of another file") {
		t.Errorf("upload %s (first %s), events %+v; want a new upload, the journal being of another file", up.ID, first.UploadID, f.events)
	}
}

// When Complete's answer is lost and the upload asked for an expiry, its File is told from one
// like it by that expiry: created_at plus expires_after, to the second.
func TestLostCompleteFindsTheFileByItsExpiry(t *testing.T) {
	c, direct, _ := lossyClients(t, loseFirst("complete"))
	c.maxRetries = 0
	data := testData(3500)
	p := lostAnswerParams()
	decoy := p
	decoy.ExpiresAfter = 3 * time.Hour
	if _, err := direct.UploadReaderAt(t.Context(), bytes.NewReader(data), int64(len(data)), decoy); err != nil {
		t.Fatal(err)
	}
	p.ExpiresAfter = 2 * time.Hour
	up, err := c.UploadReaderAt(t.Context(), bytes.NewReader(data), int64(len(data)), p)
	if err != nil {
		t.Fatalf("UploadReaderAt after a lost answer to Complete: %v", err)
	}
	if f := up.File; f == nil || f.ExpiresAt == nil || *f.ExpiresAt != f.CreatedAt+7200 {
		t.Errorf("the File found is %+v, want the one expiring 2 hours after it was created", up.File)
	}
}

// A stream of exactly two parts' bytes is sent as two parts, no empty third.
func TestUploadReaderOfAWholeNumberOfParts(t *testing.T) {
	fs := newFaultyServer(t, server.Faults{}, server.RateLimit{})
	c, _ := fs.client(false)
	var mu sync.Mutex
	var last Progress
	up, err := c.UploadReader(t.Context(), strings.NewReader("abcdefgh"), 8, UploadFileParams{Filename: "a.jsonl", Purpose: PurposeBatch,
		PartSize: 4, Concurrency: 1, Progress: func(p Progress) { mu.Lock(); last = p; mu.Unlock() }})
	if err != nil {
		t.Fatalf("UploadReader: %v", err)
	}
	if got := string(fs.fileContent(up)); got != "abcdefgh" {
		t.Errorf("the File holds %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if requests, _ := fs.counts(); requests != 4 || last.Parts != 2 || last.PartsDone != 2 {
		t.Errorf("%d requests, progress %+v; want 4 (create, two parts, complete) and 2 parts", requests, last)
	}
}

// A part of a stream that fails is named by its number, counted from 1, of all the parts.
func TestUploadReaderNamesTheFailedPart(t *testing.T) {
	fu, f := newFakeUploads(t)
	var mu sync.Mutex
	n := 0
	fu.partHook = func(*http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		n++
		return n != 2 // the second part is refused
	}
	c, _ := newTestClient(t, f, nil, WithMaxRetries(0))
	_, err := c.UploadReader(t.Context(), strings.NewReader("abcdefghij"), 10,
		UploadFileParams{Filename: "a.jsonl", Purpose: PurposeBatch, PartSize: 4, Concurrency: 1})
	if err == nil || !strings.Contains(err.Error(), "part 2 of 3: ") {
		t.Errorf("UploadReader with its second part refused: %v, want an error naming part 2 of 3", err)
	}
}

// A part whose record could not be synced is named by its number, counted from 1, in the error.
func TestJournalRecordSyncErrorNamesThePart(t *testing.T) {
	var l syncLog
	j, err := createJournalWith(filepath.Join(t.TempDir(), "a.journal"), syncHead(), nil, l.sync)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	l.fail = errors.New("the disk lost the write")
	if err := j.record(3, "part_d"); !errors.Is(err, l.fail) || !strings.Contains(err.Error(), "journal: record part 4: ") {
		t.Errorf("record of index 3 whose sync failed: %v, want its error, naming part 4", err)
	}
}
