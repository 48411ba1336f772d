package conformance_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/uploadkit/uploads/conformance"
)

// A service that starts answering differently from the spec is logged where it happens: here a
// cancel answered with a status the spec does not know. The call itself succeeds.
func ExampleValidator_ReportingTransport() {
	// A stand-in for the live service, answering with a drifted status.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req_8f2b")
		io.WriteString(w, `{"id":"upload_abc","object":"upload","bytes":8,"created_at":1758145015,`+
			`"expires_at":1758148615,"filename":"train.jsonl","purpose":"fine-tune","status":"paused"}`)
	}))
	defer api.Close()

	// Without the time, so that the output is always the same.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	v, err := conformance.New(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	client := &http.Client{Transport: v.ReportingTransport(nil, func(vi conformance.Violation) {
		logger.Warn("answer differs from the spec",
			slog.String("operation", vi.Operation), slog.String("side", vi.Side), slog.Int("status", vi.Status),
			slog.String("field", vi.Field), slog.String("reason", vi.Reason), slog.String("request_id", vi.RequestID))
	})}
	// With this package's client: uploads.NewClient(uploads.WithHTTPClient(client)).

	req, err := http.NewRequest("POST", api.URL+"/v1/uploads/upload_abc/cancel", nil)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sk-example")
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("the call succeeded:", resp.Status)
	// Output:
	// level=WARN msg="answer differs from the spec" operation=cancelUpload side=response status=200 field=/status reason="value is not one of the allowed values [\"pending\",\"completed\",\"cancelled\",\"expired\"]" request_id=req_8f2b
	// the call succeeded: 200 OK
}

// Record a session: every exchange through the client is written to its own file, secrets
// redacted, ready for `make conformance EXCHANGES=DIR`.
func ExampleNewRecorder() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"upload_abc","object":"upload","bytes":8,"created_at":1758145015,`+
			`"expires_at":1758148615,"filename":"train.jsonl","purpose":"fine-tune","status":"cancelled"}`)
	}))
	defer api.Close()
	dir, err := os.MkdirTemp("", "recordings-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	rec, err := conformance.NewRecorder(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	client := &http.Client{Transport: rec}
	// With this package's client: uploads.NewClient(uploads.WithHTTPClient(client)).

	req, err := http.NewRequest("POST", api.URL+"/v1/uploads/upload_abc/cancel", nil)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sk-proj-0123456789abcdef")
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close() // the exchange is written now

	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) != 1 {
		log.Fatal(files, err)
	}
	ex, err := conformance.ReadExchange(files[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ex.Operation, ex.Request.Headers["Authorization"], ex.Response.Status)
	v, err := conformance.New(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	failures, err := v.CheckExchangeFile(context.Background(), files[0])
	fmt.Println(len(failures), "failures", err)
	// Output:
	// cancelUpload [Bearer REDACTED] 200
	// 0 failures <nil>
}
