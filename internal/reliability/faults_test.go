package reliability

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uploadkit/uploads"
)

// Bodies a faulty server sends.
const (
	faultUpload = `{"id":"upload_abc","object":"upload","bytes":3,"created_at":1719184911,"expires_at":1719188511,"filename":"a.jsonl","purpose":"fine-tune","status":"cancelled"}`
	faultPart   = `{"id":"part_def","object":"upload.part","created_at":1719185911,"upload_id":"upload_abc"}`
)

// fault is how a faulty server answers one attempt (numbered from 1).
type fault func(w http.ResponseWriter, r *http.Request, attempt int)

// answer writes a complete answer.
func answer(status int, contentType, body string, header ...string) fault {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// resetMidBody announces body whole, sends only its first n bytes, and resets the connection.
func resetMidBody(status int, body string, n int) fault {
	return func(w http.ResponseWriter, r *http.Request, _ int) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			status, http.StatusText(status), len(body), body[:n])
		buf.Flush()
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // close with a RST, not a FIN
		}
		conn.Close()
	}
}

// silent never sends headers: it waits until the client gives up on the attempt.
func silent(w http.ResponseWriter, r *http.Request, _ int) { <-r.Context().Done() }

// then answers the first attempts with first, and the rest with rest.
func then(firstAttempts int, first, rest fault) fault {
	return func(w http.ResponseWriter, r *http.Request, attempt int) {
		if attempt <= firstAttempts {
			first(w, r, attempt)
			return
		}
		rest(w, r, attempt)
	}
}

// faultyServer serves f on loopback and counts the attempts it got.
func faultyServer(t *testing.T, f fault) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var attempts atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		f(w, r, int(attempts.Add(1)))
	}))
	t.Cleanup(srv.Close)
	return srv, &attempts
}

// wantResult is what a call must end with.
type wantResult int

const (
	wantSuccess  wantResult = iota // the object, decoded whole
	wantAPIError                   // an *uploads.APIError with the status of the last answer
	wantFailure                    // another error, and no object
	wantTimeout                    // an error that is context.DeadlineExceeded
)

// TestClientFaults puts the project's client in front of a server that misbehaves, and checks
// that it retries what it should (and only that), fails cleanly on the rest, and never returns a
// half-decoded object as a success.
func TestClientFaults(t *testing.T) {
	cancel := func(ctx context.Context, c *uploads.Client) (any, error) {
		return nilIfNil(c.Cancel(ctx, "upload_abc"))
	}
	partSeekable := func(ctx context.Context, c *uploads.Client) (any, error) {
		return nilIfNil(c.AddPart(ctx, "upload_abc", bytes.NewReader([]byte("abc"))))
	}
	partOnce := func(ctx context.Context, c *uploads.Client) (any, error) {
		return nilIfNil(c.AddPart(ctx, "upload_abc", io.MultiReader(strings.NewReader("abc"))))
	}
	const fast = "retry-after-ms" // asks for a 1 ms wait, so retries cost no time
	tests := []struct {
		name     string
		fault    fault
		call     func(context.Context, *uploads.Client) (any, error)
		want     wantResult
		attempts int
		timeout  time.Duration // per attempt; 10 s when zero
	}{
		{"reset mid-body, then success", then(1, resetMidBody(200, faultUpload, 40), answer(200, "application/json", faultUpload)), cancel, wantSuccess, 2, 0},
		{"reset before any byte, then success", then(1, resetMidBody(200, faultUpload, 0), answer(200, "application/json", faultUpload)), cancel, wantSuccess, 2, 0},
		{"reset mid-body every time", resetMidBody(200, faultUpload, 40), cancel, wantFailure, 3, 0},
		{"reset mid-body of a seekable part, then success", then(1, resetMidBody(200, faultPart, 20), answer(200, "application/json", faultPart)), partSeekable, wantSuccess, 2, 0},
		{"reset mid-body of a one-shot part: not retried", resetMidBody(200, faultPart, 20), partOnce, wantFailure, 1, 0},
		{"500 then success", then(1, answer(500, "application/json", `{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`, fast, "1"), answer(200, "application/json", faultUpload)), cancel, wantSuccess, 2, 0},
		{"502 with an HTML page, then success", then(2, answer(502, "text/html", "<html>bad gateway</html>", fast, "1"), answer(200, "application/json", faultUpload)), cancel, wantSuccess, 3, 0},
		{"500 every time", answer(500, "application/json", `{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`, fast, "1"), cancel, wantAPIError, 3, 0},
		{"500 that says not to retry", answer(500, "application/json", `{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`, "x-should-retry", "false"), cancel, wantAPIError, 1, 0},
		{"429 then success", then(1, answer(429, "application/json", `{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":null}}`, fast, "1"), answer(200, "application/json", faultUpload)), cancel, wantSuccess, 2, 0},
		{"400 is not retried", answer(400, "application/json", `{"error":{"message":"bad","type":"invalid_request_error","param":"upload_id","code":null}}`), cancel, wantAPIError, 1, 0},
		{"headers never come, then success", then(1, silent, answer(200, "application/json", faultUpload)), cancel, wantSuccess, 2, time.Second},
		{"headers never come", silent, cancel, wantTimeout, 3, 300 * time.Millisecond},
		{"truncated JSON with a matching length", answer(200, "application/json", faultUpload[:60]), cancel, wantFailure, 1, 0},
		{"200 with an HTML body", answer(200, "text/html", "<html><body>Welcome to the hotel network</body></html>"), cancel, wantFailure, 1, 0},
		{"200 with an error envelope", answer(200, "application/json", `{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`), cancel, wantFailure, 1, 0},
		{"200 with null", answer(200, "application/json", "null"), cancel, wantFailure, 1, 0},
		{"200 with an empty body", answer(200, "application/json", ""), cancel, wantFailure, 1, 0},
		{"200 with a wrongly typed field", answer(200, "application/json", strings.Replace(faultUpload, `"bytes":3`, `"bytes":"3"`, 1)), cancel, wantFailure, 1, 0},
		{"200 with data after the part", answer(200, "application/json", faultPart+"x"), partSeekable, wantFailure, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // retries after a connection error wait a real backoff (about 0.4 s)
			srv, attempts := faultyServer(t, tt.fault)
			c, err := uploads.NewClient(
				uploads.WithAPIKey("sk-faults"),
				uploads.WithBaseURL(srv.URL+"/v1"),
				uploads.WithHTTPClient(&http.Client{}),
				uploads.WithMaxRetries(2),
				uploads.WithTimeout(cmp.Or(tt.timeout, 10*time.Second)),
			)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tt.call(t.Context(), c)
			if n := int(attempts.Load()); n != tt.attempts {
				t.Errorf("%d attempts, want %d (err: %v)", n, tt.attempts, err)
			}
			if err != nil && got != nil {
				t.Fatalf("returned an object and an error: %+v, %v", got, err)
			}
			var apiErr *uploads.APIError
			switch tt.want {
			case wantSuccess:
				if err != nil {
					t.Fatalf("failed: %v", err)
				}
				switch v := got.(type) {
				case *uploads.Upload:
					if v.ID != "upload_abc" || v.Status != uploads.UploadStatusCancelled || v.Bytes != 3 {
						t.Errorf("decoded %+v, want the whole upload", v)
					}
				case *uploads.UploadPart:
					if v.ID != "part_def" || v.UploadID != "upload_abc" {
						t.Errorf("decoded %+v, want the whole part", v)
					}
				}
			case wantAPIError:
				if !errors.As(err, &apiErr) {
					t.Fatalf("got %v, want an *uploads.APIError", err)
				}
			case wantFailure:
				if err == nil {
					t.Fatalf("succeeded with %+v, want an error", got)
				}
				if errors.As(err, &apiErr) {
					t.Errorf("got an APIError (%v) for a fault that is not an API answer", err)
				}
			case wantTimeout:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("got %v, want an error that is context.DeadlineExceeded", err)
				}
			}
			t.Logf("%v", err)
		})
	}
}

// TestDownloadCutShort: a download whose connection is reset half way must end in an error when
// read, never in a short file that reads as whole.
func TestDownloadCutShort(t *testing.T) {
	content := strings.Repeat("0123456789", 10000)
	srv, _ := faultyServer(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n%s",
			len(content), content[:len(content)/2])
		buf.Flush()
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	})
	c, err := uploads.NewClient(uploads.WithAPIKey("sk-faults"), uploads.WithBaseURL(srv.URL+"/v1"), uploads.WithHTTPClient(&http.Client{}))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := c.DownloadFile(t.Context(), "file-abc")
	if err != nil {
		t.Fatalf("DownloadFile: %v", err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err == nil {
		t.Fatalf("read %d of %d bytes and no error: a cut download reads as whole", len(got), len(content))
	}
	if len(got) >= len(content) {
		t.Errorf("read %d bytes of a body cut at %d", len(got), len(content)/2)
	}
}

// nilIfNil turns a typed nil pointer into a nil interface, so that "no object" reads as nil.
func nilIfNil[T any](v *T, err error) (any, error) {
	if v == nil {
		return nil, err
	}
	return v, err
}
