package uploads

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCreateSendsParams(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, fixture(t, "create-200.json"))
	})
	c, _ := newTestClient(t, f, nil)
	up, err := c.Create(t.Context(), CreateParams{
		Filename: "train.jsonl", Purpose: PurposeFineTune, Bytes: 2147483648, MIMEType: "text/jsonl", ExpiresAfter: 24 * time.Hour,
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if up.ID != "upload_68cb29f703b88191a782f78caf1dfeb2" || up.Status != UploadStatusPending || up.File != nil {
		t.Errorf("Create returned %+v", up)
	}
	req := f.requests()[0]
	if req.Method != http.MethodPost || req.Path != "/v1/uploads" {
		t.Errorf("sent %s %s, want POST /v1/uploads", req.Method, req.Path)
	}
	var got, want any
	json.Unmarshal(req.Body, &got)
	json.Unmarshal([]byte(`{"filename":"train.jsonl","purpose":"fine-tune","bytes":2147483648,"mime_type":"text/jsonl",
		"expires_after":{"anchor":"created_at","seconds":86400}}`), &want)
	if !jsonEqual(got, want) {
		t.Errorf("body = %s", req.Body)
	}
}

func TestCompleteSendsPartsInOrderAndMD5(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, fixture(t, "complete-200.json"))
	})
	c, _ := newTestClient(t, f, nil)
	up, err := c.Complete(t.Context(), "upload_abc", CompleteParams{PartIDs: []string{"part_2", "part_1"}, MD5: "9e107d9d372bb6826bd81d3542a419d6"})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if up.Status != UploadStatusCompleted || up.File == nil || up.File.ID != "file-RRx32Mws4VZG3ZUnsU6Dvf" || up.File.ExpiresAt != nil {
		t.Errorf("Complete returned %+v, file %+v", up, up.File)
	}
	req := f.requests()[0]
	if req.Path != "/v1/uploads/upload_abc/complete" {
		t.Errorf("path = %s", req.Path)
	}
	if want := `{"md5":"9e107d9d372bb6826bd81d3542a419d6","part_ids":["part_2","part_1"]}`; string(req.Body) != want {
		t.Errorf("body = %s, want %s", req.Body, want)
	}
	// Without an MD5 the key is left out.
	if _, err := c.Complete(t.Context(), "upload_abc", CompleteParams{PartIDs: []string{"part_1"}}); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if want := `{"part_ids":["part_1"]}`; string(f.requests()[1].Body) != want {
		t.Errorf("body = %s, want %s", f.requests()[1].Body, want)
	}
}

func TestCancelSendsNoBody(t *testing.T) {
	f := newFakeAPI(t, cancelled(t))
	c, _ := newTestClient(t, f, nil)
	up, err := c.Cancel(t.Context(), "upload_abc")
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if up.Status != UploadStatusCancelled {
		t.Errorf("status = %q, want cancelled", up.Status)
	}
	req := f.requests()[0]
	if req.Method != http.MethodPost || req.Path != "/v1/uploads/upload_abc/cancel" || len(req.Body) != 0 || req.Header.Get("Content-Type") != "" {
		t.Errorf("sent %s %s with body %q and content type %q", req.Method, req.Path, req.Body, req.Header.Get("Content-Type"))
	}
}

func TestRetrieveAndDownloadFile(t *testing.T) {
	content := "{\"prompt\": \"hello\"}\n"
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/files/file-abc":
			writeJSON(w, http.StatusOK, []byte(`{"object":"file","id":"file-abc","purpose":"fine-tune","filename":"a.jsonl",
				"bytes":20,"created_at":1758145149,"expires_at":null,"status":"processed","status_details":null}`))
		case "/v1/files/file-abc/content":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("x-request-id", "req_dl")
			io.WriteString(w, content)
		default:
			http.NotFound(w, r)
		}
	})
	c, _ := newTestClient(t, f, nil)
	file, err := c.RetrieveFile(t.Context(), "file-abc")
	if err != nil {
		t.Fatalf("RetrieveFile: %v", err)
	}
	if file.ID != "file-abc" || file.Bytes != 20 || file.Purpose != FilePurposeFineTune {
		t.Errorf("RetrieveFile returned %+v", file)
	}
	var raw Response
	rc, err := c.DownloadFile(t.Context(), "file-abc", CaptureResponse(&raw))
	if err != nil {
		t.Fatalf("DownloadFile: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(got) != content {
		t.Errorf("DownloadFile read %q, %v; want %q", got, err, content)
	}
	if raw.StatusCode != http.StatusOK || raw.RequestID() != "req_dl" {
		t.Errorf("captured response %+v", raw)
	}
}

// partServer answers addUploadPart with the recorded part, after reading the multipart body and
// handing what it found to check.
func partServer(t *testing.T, check func(r *http.Request, data []byte, filename string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mediaType != "multipart/form-data" {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
			return
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		p, err := mr.NextPart()
		if err != nil {
			t.Errorf("read part: %v", err)
			return
		}
		if p.FormName() != "data" || p.Header.Get("Content-Type") != "application/octet-stream" {
			t.Errorf("form field %q with type %q, want data, application/octet-stream", p.FormName(), p.Header.Get("Content-Type"))
		}
		data, err := io.ReadAll(p)
		if err != nil {
			t.Errorf("read part data: %v", err)
			return
		}
		if _, err := mr.NextPart(); err != io.EOF {
			t.Errorf("more than one form field: %v", err)
		}
		check(r, data, p.FileName())
		writeJSON(w, http.StatusOK, fixture(t, "add-part-200.json"))
	}
}

// plainReader hides every method of a reader but Read.
type plainReader struct{ r io.Reader }

func (p plainReader) Read(b []byte) (int, error) { return p.r.Read(b) }

func TestAddPartStreamsMultipart(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 40_000) // 640 kB
	tests := []struct {
		name       string
		data       io.Reader
		wantLength bool
	}{
		{"seeker sends a length", bytes.NewReader(payload), true},
		{"seeker read from its offset", func() io.Reader {
			r := bytes.NewReader(append([]byte("skip"), payload...))
			r.Seek(4, io.SeekStart)
			return r
		}(), true},
		{"buffer sends a length", bytes.NewBuffer(payload), true},
		{"plain reader is chunked", plainReader{bytes.NewReader(payload)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, partServer(t, func(r *http.Request, data []byte, filename string) {
				if !bytes.Equal(data, payload) {
					t.Errorf("server got %d bytes, want the %d sent", len(data), len(payload))
				}
				if filename != "part" {
					t.Errorf("filename %q, want part", filename)
				}
			}))
			// The length is read where the client hands the request over: the validating transport
			// below it buffers bodies, which hides whether the client streamed.
			var length int64
			sent := WithMiddleware(func(req *http.Request, next MiddlewareNext) (*http.Response, error) {
				length = req.ContentLength
				return next(req)
			})
			c, _ := newTestClient(t, f, nil, sent)
			part, err := c.AddPart(t.Context(), "upload_abc", tt.data)
			if err != nil {
				t.Fatalf("AddPart: %v", err)
			}
			if part.ID != "part_68cb2a7e21c88191a82274273ca367ef" || part.UploadID == "" {
				t.Errorf("AddPart returned %+v", part)
			}
			if (length > 0) != tt.wantLength {
				t.Errorf("Content-Length = %d; want a length: %v", length, tt.wantLength)
			}
			if got := f.requests()[0].Path; got != "/v1/uploads/upload_abc/parts" {
				t.Errorf("path = %s", got)
			}
		})
	}
}

func TestAddPartRefusesOversizedPartBeforeSending(t *testing.T) {
	f := newFakeAPI(t, partServer(t, func(*http.Request, []byte, string) {}))
	c, _ := newTestClient(t, f, nil)
	big := io.NewSectionReader(zeroReaderAt{}, 0, MaxPartSize+1)
	_, err := c.AddPart(t.Context(), "upload_abc", big)
	var pe *InvalidParamError
	if !errors.As(err, &pe) || pe.Param != "data" {
		t.Fatalf("AddPart of %d bytes: got %v, want an InvalidParamError about data", MaxPartSize+1, err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

// zeroReaderAt reads as an endless run of zeros.
type zeroReaderAt struct{}

func (zeroReaderAt) ReadAt(p []byte, _ int64) (int, error) {
	clear(p)
	return len(p), nil
}

func TestInvalidIDsSendNothing(t *testing.T) {
	ops := map[string]func(c *Client, id string) error{
		"Cancel": func(c *Client, id string) error { _, err := c.Cancel(t.Context(), id); return err },
		"Complete": func(c *Client, id string) error {
			_, err := c.Complete(t.Context(), id, CompleteParams{PartIDs: []string{"part_1"}})
			return err
		},
		"AddPart": func(c *Client, id string) error {
			_, err := c.AddPart(t.Context(), id, strings.NewReader("x"))
			return err
		},
		"RetrieveFile": func(c *Client, id string) error {
			_, err := c.RetrieveFile(t.Context(), id)
			return err
		},
		"DownloadFile": func(c *Client, id string) error { _, err := c.DownloadFile(t.Context(), id); return err },
	}
	f := newFakeAPI(t, cancelled(t))
	c, _ := newTestClient(t, f, nil)
	for name, op := range ops {
		for _, id := range []string{"", " ", "\t\n", ".", ".."} {
			err := op(c, id)
			var pe *InvalidParamError
			if !errors.As(err, &pe) || !strings.HasSuffix(pe.Param, "ID") {
				t.Errorf("%s(%q): got %v, want an InvalidParamError about the ID", name, id, err)
			}
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

func TestBadParamsSendNothing(t *testing.T) {
	f := newFakeAPI(t, cancelled(t))
	c, _ := newTestClient(t, f, nil)
	good := CreateParams{Filename: "a.jsonl", Purpose: PurposeBatch, Bytes: 10, MIMEType: "text/jsonl"}
	tests := []struct {
		name  string
		call  func() error
		param string
	}{
		{"create without filename", func() error { p := good; p.Filename = " "; _, err := c.Create(t.Context(), p); return err }, "filename"},
		{"create without purpose", func() error { p := good; p.Purpose = ""; _, err := c.Create(t.Context(), p); return err }, "purpose"},
		{"create of 0 bytes", func() error { p := good; p.Bytes = 0; _, err := c.Create(t.Context(), p); return err }, "bytes"},
		{"create over 8 GiB", func() error { p := good; p.Bytes = MaxUploadSize + 1; _, err := c.Create(t.Context(), p); return err }, "bytes"},
		{"create without MIME type", func() error { p := good; p.MIMEType = ""; _, err := c.Create(t.Context(), p); return err }, "MIME type"},
		{"create expiring too soon", func() error { p := good; p.ExpiresAfter = time.Minute; _, err := c.Create(t.Context(), p); return err }, "expires after"},
		{"create expiring too late", func() error {
			p := good
			p.ExpiresAfter = 31 * 24 * time.Hour
			_, err := c.Create(t.Context(), p)
			return err
		}, "expires after"},
		{"create expiring in part seconds", func() error {
			p := good
			p.ExpiresAfter = time.Hour + time.Millisecond
			_, err := c.Create(t.Context(), p)
			return err
		}, "expires after"},
		{"complete without parts", func() error {
			_, err := c.Complete(t.Context(), "upload_abc", CompleteParams{PartIDs: nil})
			return err
		}, "part IDs"},
		{"complete with a blank part", func() error {
			_, err := c.Complete(t.Context(), "upload_abc", CompleteParams{PartIDs: []string{"part_1", ""}})
			return err
		}, "part IDs"},
		{"complete with a bad MD5", func() error {
			_, err := c.Complete(t.Context(), "upload_abc", CompleteParams{PartIDs: []string{"part_1"}, MD5: "abc"})
			return err
		}, "MD5"},
		{"add a nil part", func() error { _, err := c.AddPart(t.Context(), "upload_abc", nil); return err }, "data"},
	}
	for _, tt := range tests {
		err := tt.call()
		var pe *InvalidParamError
		if !errors.As(err, &pe) || pe.Param != tt.param {
			t.Errorf("%s: got %v, want an InvalidParamError about %s", tt.name, err, tt.param)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

func TestIDsCannotReachAnotherRoute(t *testing.T) {
	ids := []string{"../files/x", "a/b", "../../v1/uploads", "a?b=c", "a#b", "%2e%2e", "up load", "./x"}
	var seen []string
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		segs := strings.Split(r.URL.EscapedPath(), "/")
		// /v1/uploads/{id}/cancel: exactly five segments, the ID one of them.
		if len(segs) != 5 || segs[1] != "v1" || segs[2] != "uploads" || segs[4] != "cancel" {
			t.Errorf("request reached %s", r.URL.EscapedPath())
			http.NotFound(w, r)
			return
		}
		id, err := url.PathUnescape(segs[3])
		if err != nil {
			t.Errorf("unescape %q: %v", segs[3], err)
		}
		seen = append(seen, id)
		writeJSON(w, http.StatusOK, fixture(t, "cancel-200.json"))
	})
	c, _ := newTestClient(t, f, nil)
	for _, id := range ids {
		if _, err := c.Cancel(t.Context(), id); err != nil {
			t.Errorf("Cancel(%q): %v", id, err)
		}
	}
	if strings.Join(seen, "|") != strings.Join(ids, "|") {
		t.Errorf("server saw IDs %q, want %q", seen, ids)
	}
}

func TestUnknownFieldsAndEnumValuesDecode(t *testing.T) {
	body := []byte(`{"id":"upload_new","object":"upload","bytes":8,"created_at":1758145015,"filename":"a.jsonl",
		"purpose":"brand_new_purpose","status":"archived","expires_at":1758148615,"priority":"high",
		"file":{"object":"file","id":"file-x","purpose":"brand_new_purpose","filename":"a.jsonl","bytes":8,
		"created_at":1758145015,"expires_at":null,"status":"quarantined","status_details":null,"region":"eu"}}`)
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, body) })
	// The validator must flag the values the spec does not list; the client must take them anyway.
	var flagged []string
	c, _ := newTestClient(t, f, func(err error) { flagged = append(flagged, err.Error()) })
	var raw Response
	up, err := c.Cancel(t.Context(), "upload_new", CaptureResponse(&raw))
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if up.Status != "archived" || up.Status.Valid() || up.File == nil || up.File.Purpose != "brand_new_purpose" {
		t.Errorf("decoded %+v, file %+v", up, up.File)
	}
	var extra struct {
		Priority string `json:"priority"`
		File     struct {
			Region string `json:"region"`
		} `json:"file"`
	}
	if err := json.Unmarshal(raw.Body, &extra); err != nil || extra.Priority != "high" || extra.File.Region != "eu" {
		t.Errorf("raw body gave %+v, %v", extra, err)
	}
	if raw.StatusCode != http.StatusOK || raw.RequestID() != "req_test" {
		t.Errorf("captured %d, request id %q", raw.StatusCode, raw.RequestID())
	}
	if len(flagged) != 1 || !strings.Contains(flagged[0], `"/status": value is not one of the allowed values ["pending"`) {
		t.Errorf("validator reports = %q, want one about the unknown status", flagged)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
