package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store"
)

// A JSON body is taken only under a Content-Type that parses, in UTF-8, and holding one JSON value,
// whatever the parameters of the header say.
func TestJSONContentType(t *testing.T) {
	e := newEnv(t)
	create := `{"purpose":"fine-tune","filename":"a","bytes":3,"mime_type":"text/jsonl"}`
	for _, tt := range []struct {
		name, contentType, body string
		status                  int
	}{
		{"repeated charset, two values", "application/json; charset=utf-8; charset=latin1", create + create, 400},
		{"repeated charset, trailing garbage", "application/json; charset=utf-8; charset=latin1", create + "}}garbage", 400},
		{"repeated charset", "application/json; charset=utf-8; charset=latin1", create, 400},
		{"unterminated parameter", `application/json; charset="utf-8`, create, 400},
		{"latin1", "application/json; charset=latin1", create, 400},
		{"utf-8 in capitals", "application/json; charset=UTF-8", create, 200},
		{"utf-8 with trailing garbage", "application/json; charset=utf-8", create + "}}garbage", 400},
		{"type in capitals", "Application/JSON", create, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do("POST", "/uploads", keyA, tt.contentType, strings.NewReader(tt.body))
			if tt.status == http.StatusOK {
				if r.Status != http.StatusOK {
					t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
				}
				return
			}
			checkEnvelope(t, r, wantEnvelope{tt.status, invalid, "", "", ""})
		})
	}

	t.Run("two Content-Type headers", func(t *testing.T) {
		req, err := http.NewRequest("POST", e.URL+"/uploads", strings.NewReader(create))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+keyA)
		req.Header.Add("Content-Type", "application/json")
		req.Header.Add("Content-Type", "text/plain")
		checkEnvelope(t, e.send(req), wantEnvelope{400, invalid, "", "", "Content-Type"})
	})

	// The reproduction of the report: a second object after the first, under a header that
	// ParseMediaType refuses, completed the upload.
	t.Run("complete with two objects stays pending", func(t *testing.T) {
		u := e.createUpload(keyA, 1)
		p := e.mustAddPart(keyA, u.ID, []byte("a"))
		body := `{"part_ids":["` + p + `"]}{"part_ids":["x"]}`
		r := e.do("POST", "/uploads/"+u.ID+"/complete", keyA, "application/json; charset=utf-8; charset=latin1", strings.NewReader(body))
		checkEnvelope(t, r, wantEnvelope{400, invalid, "", "", "Content-Type"})
		if r := e.complete(keyA, u.ID, []string{p}, ""); r.Status != http.StatusOK {
			t.Errorf("the upload no longer completes: %d %s", r.Status, r.Body)
		}
	})
}

// mime_type must be a MIME type, and one the purpose takes where the purpose has a list.
func TestMIMEType(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		purpose, mimeType string
		code              string // "" when accepted
	}{
		{"vision", "application/x-msdownload", "unsupported_file_mimetype"},
		{"vision", "text/jsonl", "unsupported_file_mimetype"},
		{"fine-tune", "image/png", "unsupported_file_mimetype"},
		{"batch", "application/pdf", "unsupported_file_mimetype"},
		{"batch", "application/octet-stream", "unsupported_file_mimetype"},
		{"assistants", "not a mime\r\ntype", "invalid_value"},
		{"user_data", "not a mime type", "invalid_value"},
		{"user_data", "text", "invalid_value"},
		{"user_data", "text/", "invalid_value"},
		{"user_data", "/plain", "invalid_value"},
		{"user_data", " text/plain", "invalid_value"},
		{"evals", "text/jsonl; charset", "invalid_value"},
		{"fine-tune", "text/jsonl", ""},
		{"fine-tune", "application/x-ndjson", ""},
		{"fine-tune", "Text/JSONL", ""},
		{"batch", "application/json", ""},
		{"batch", "application/jsonl; charset=utf-8", ""},
		{"vision", "image/jpeg", ""},
		{"vision", "image/webp", ""},
		{"vision", "image/gif", ""},
		{"assistants", "application/x-msdownload", ""},
		{"user_data", "application/octet-stream", ""},
		{"evals", "text/jsonl", ""},
	} {
		t.Run(tt.purpose+" "+tt.mimeType, func(t *testing.T) {
			r := e.doJSON("POST", "/uploads", keyA, map[string]any{
				"purpose": tt.purpose, "filename": "f", "bytes": 1, "mime_type": tt.mimeType,
			})
			if tt.code == "" {
				if r.Status != http.StatusOK {
					t.Errorf("status %d, want 200: %s", r.Status, r.Body)
				}
				return
			}
			checkEnvelope(t, r, wantEnvelope{400, invalid, "mime_type", tt.code, "'mime_type'"})
		})
	}
}

// Nothing outside the API is redirected: every path and method gets a JSON error envelope.
func TestNoRedirectOutsideTheAPI(t *testing.T) {
	e := newEnv(t)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct {
		method, path, key string
		status            int
	}{
		{"POST", "/v1", keyA, 404},
		{"GET", "/v1", "", 404},
		{"POST", "/v1/", keyA, 404},
		{"GET", "/", "", 404},
		{"POST", "/uploads", keyA, 404},
		{"GET", "/healthz/", "", 404},
		{"POST", "/healthz", "", 404},
		{"GET", "/V1/uploads", keyA, 404},
		{"POST", "/v1/uploads/", keyA, 404},
		{"GET", "/favicon.ico", "", 404},
		{"GET", "/v1/files/", keyA, 404},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, e.http.URL+tt.path, strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			checkEnvelope(t, reply{resp.StatusCode, resp.Header, b}, wantEnvelope{tt.status, invalid, "", "", "Invalid URL"})
		})
	}
}

// Two Authorization headers are ambiguous credentials: 401, whichever of them is right.
func TestTwoAuthorizationHeaders(t *testing.T) {
	e := newEnv(t)
	u := e.createUpload(keyA, 1)
	for _, keys := range [][2]string{{keyA, "sk-wrong-0123456789abcdef"}, {"sk-wrong-0123456789abcdef", keyA}, {keyA, keyA}, {keyA, keyB}} {
		req, err := http.NewRequest("POST", e.URL+"/uploads/"+u.ID+"/cancel", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Add("Authorization", "Bearer "+keys[0])
		req.Header.Add("Authorization", "Bearer "+keys[1])
		checkEnvelope(t, e.send(req), wantEnvelope{401, invalid, "", "invalid_api_key", "2 Authorization headers"})
	}
	if r := e.do("POST", "/uploads/"+u.ID+"/cancel", keyA, "", nil); r.Status != http.StatusOK {
		t.Errorf("the upload was changed by a refused request: %d %s", r.Status, r.Body)
	}
}

// A number written as a decimal where an integer is expected is invalid_type on its field, like
// 1.5, whatever its value.
func TestDecimalWhereIntegerExpected(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct{ bytes, seconds, param string }{
		{"3.0", "3600", "bytes"},
		{"3E0", "3600", "bytes"},
		{"3e0", "3600", "bytes"},
		{"1e30", "3600", "bytes"},
		{"1.5", "3600", "bytes"},
		{"3", "3600.0", "expires_after.seconds"},
		{"3", "36E2", "expires_after.seconds"},
		{"3.0", "3600.0", "bytes"},
	} {
		t.Run(tt.bytes+" "+tt.seconds, func(t *testing.T) {
			body := fmt.Sprintf(`{"purpose":"fine-tune","filename":"a","bytes":%s,"mime_type":"text/jsonl","expires_after":{"anchor":"created_at","seconds":%s}}`,
				tt.bytes, tt.seconds)
			checkEnvelope(t, e.doJSON("POST", "/uploads", keyA, body), wantEnvelope{
				400, invalid, tt.param, "invalid_type", "Invalid type for '" + tt.param + "': expected an integer, but got a decimal instead."})
		})
	}
}

// A part is stored as its bytes were sent: a quoted-printable transfer encoding is not decoded.
func TestPartStoredAsSent(t *testing.T) {
	e := newEnv(t)
	const sent = "a=3Db=\r\nc"
	u := e.createUpload(keyA, int64(len(sent)))
	body := "--x\r\nContent-Disposition: form-data; name=\"data\"; filename=\"blob\"\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + sent + "\r\n--x--\r\n"
	r := e.do("POST", "/uploads/"+u.ID+"/parts", keyA, "multipart/form-data; boundary=x", strings.NewReader(body))
	p := decode[gen.UploadPart](t, r)
	sum := md5.Sum([]byte(sent))
	done := decode[gen.Upload](t, e.complete(keyA, u.ID, []string{p.ID}, hex.EncodeToString(sum[:])))
	got := e.do("GET", "/files/"+done.File.ID+"/content", keyA, "", nil)
	if string(got.Body) != sent {
		t.Errorf("the file holds %q, want %q as sent", got.Body, sent)
	}
}

// gatedStore holds Complete until the request's context is done, and signals when it started.
type gatedStore struct {
	store.Store
	started chan struct{}
}

func (g gatedStore) Complete(ctx context.Context, owner, uploadID string, partIDs []string, md5Hex, fileID string, now store.Clock) (store.Upload, store.File, error) {
	close(g.started)
	<-ctx.Done()
	return store.Upload{}, store.File{}, fmt.Errorf("complete upload %s: %w", uploadID, ctx.Err())
}

// levels returns the level of every log line.
func levels(t *testing.T, log string) []string {
	t.Helper()
	var out []string
	for line := range strings.Lines(log) {
		var m struct{ Level, Msg string }
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m.Level+" "+m.Msg)
	}
	return out
}

// A client hanging up is not a server error: neither a download cut short nor a request abandoned
// while the store works on it is logged at ERROR.
func TestClientHangingUpIsNotAnError(t *testing.T) {
	t.Run("download", func(t *testing.T) {
		var log syncBuffer
		e := newEnv(t, withLog(&log))
		const size = 16 << 20
		u := e.createUpload(keyA, size)
		p := e.mustAddPart(keyA, u.ID, make([]byte, size))
		done := decode[gen.Upload](t, e.complete(keyA, u.ID, []string{p}, ""))
		for range 5 {
			req, err := http.NewRequest("GET", e.URL+"/files/"+done.File.ID+"/content", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+keyA)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(resp.Body, make([]byte, 1024)); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close() // before the end: the transport closes the connection
		}
		e.stop() // waits for the handlers
		for _, l := range levels(t, log.String()) {
			if strings.HasPrefix(l, "ERROR") {
				t.Errorf("logged at ERROR: %s\n%s", l, log.String())
			}
		}
	})

	t.Run("abandoned request", func(t *testing.T) {
		var log syncBuffer
		gate := gatedStore{started: make(chan struct{})}
		e := newEnv(t, withLog(&log), func(c *server.Config) { gate.Store = c.Store; c.Store = gate })
		u := e.createUpload(keyA, 1)
		p := e.mustAddPart(keyA, u.ID, []byte("a"))
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-gate.started; cancel() }()
		req, err := http.NewRequestWithContext(ctx, "POST", e.URL+"/uploads/"+u.ID+"/complete",
			bytes.NewReader([]byte(`{"part_ids":["`+p+`"]}`)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+keyA)
		req.Header.Set("Content-Type", "application/json")
		if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.Canceled) {
			t.Fatalf("the request ended with %v, want it cancelled", err)
		}
		e.stop() // waits for the handler, which ends once the server sees the connection closed
		for _, l := range levels(t, log.String()) {
			if strings.HasPrefix(l, "ERROR") {
				t.Errorf("logged at ERROR: %s\n%s", l, log.String())
			}
		}
		if !strings.Contains(log.String(), `"client_gone":true`) || !strings.Contains(log.String(), "client went away") {
			t.Errorf("the access log does not say the client went away:\n%s", log.String())
		}
	})
}
