package conformance_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/conformance"
)

// BenchmarkReportingTransport is one call over loopback answered with a recorded body, through a
// plain transport (impl=bare) and through the reporting transport (impl=reporting), so that the
// difference is what the check costs per call. The answers are a cancelled upload and a completed
// one with its File, as the live service sent them.
func BenchmarkReportingTransport(b *testing.B) {
	for _, answer := range []struct{ name, path, file string }{
		{"cancel", "/v1/uploads/upload_abc/cancel", "../testdata/recorded/cancel-200.json"},
		{"complete", "/v1/uploads/upload_abc/complete", "../testdata/recorded/complete-200.json"},
	} {
		body, err := os.ReadFile(answer.file)
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Request-Id", "req_bench")
			w.Write(body)
		}))
		v, err := conformance.New(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		reported := 0
		reporting := v.ReportingTransport(http.DefaultTransport, func(conformance.Violation) { reported++ })
		for _, impl := range []struct {
			name      string
			transport http.RoundTripper
		}{{"bare", http.DefaultTransport}, {"reporting", reporting}} {
			b.Run("answer="+answer.name+"/impl="+impl.name, func(b *testing.B) {
				client := &http.Client{Transport: impl.transport}
				b.ReportAllocs()
				for b.Loop() {
					req, _ := http.NewRequestWithContext(b.Context(), "POST", srv.URL+answer.path, nil)
					req.Header.Set("Authorization", "Bearer sk-bench")
					if answer.name == "complete" {
						req.Body = io.NopCloser(strings.NewReader(`{"part_ids":["part_abc"]}`))
						req.Header.Set("Content-Type", "application/json")
					}
					resp, err := client.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		srv.Close()
		if reported != 0 {
			b.Fatalf("%d violations reported for recorded answers", reported)
		}
	}
}
