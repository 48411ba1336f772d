//go:build unix

package conformance_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uploadkit/uploads/conformance"
)

// BenchmarkReportingTransport is one call answered with a recorded body, through a plain transport
// (impl=bare) and through the reporting transport wrapped around it (impl=reporting), so that the
// difference is what the check costs per call. The answers are a cancelled upload and a completed
// one with its File, as the live service sent them; they come over loopback (via=loopback) or
// straight from memory (via=memory, where the difference is the check alone, without the noise of
// the network).
func BenchmarkReportingTransport(b *testing.B) {
	for _, answer := range []struct{ name, path, file, body string }{
		{"cancel", "/v1/uploads/upload_abc/cancel", "../testdata/recorded/cancel-200.json", ""},
		{"complete", "/v1/uploads/upload_abc/complete", "../testdata/recorded/complete-200.json", `{"part_ids":["part_abc"]}`},
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
		memory := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.Body != nil {
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
			return &http.Response{
				StatusCode: 200, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header:        http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"req_bench"}},
				Body:          io.NopCloser(bytes.NewReader(body)),
				ContentLength: int64(len(body)), Request: r,
			}, nil
		})
		v, err := conformance.New(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		reported := 0
		for _, via := range []struct {
			name      string
			transport http.RoundTripper
		}{{"loopback", http.DefaultTransport}, {"memory", memory}} {
			for _, impl := range []struct {
				name      string
				transport http.RoundTripper
			}{{"bare", via.transport}, {"reporting", v.ReportingTransport(via.transport, func(conformance.Violation) { reported++ })}} {
				b.Run("answer="+answer.name+"/via="+via.name+"/impl="+impl.name, func(b *testing.B) {
					client := &http.Client{Transport: impl.transport}
					b.ReportAllocs()
					start := cpuTime(b)
					for b.Loop() {
						var reqBody io.Reader = http.NoBody
						if answer.body != "" {
							reqBody = strings.NewReader(answer.body)
						}
						req, _ := http.NewRequestWithContext(b.Context(), "POST", srv.URL+answer.path, reqBody)
						req.Header.Set("Authorization", "Bearer sk-bench")
						if answer.body != "" {
							req.Header.Set("Content-Type", "application/json")
						}
						resp, err := client.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					// CPU time (of the whole process, server included) is what the check costs
					// where time per call is swollen by other programs sharing the cores.
					b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
				})
			}
		}
		srv.Close()
		if reported != 0 {
			b.Fatalf("%d violations reported for recorded answers", reported)
		}
	}
}

// cpuTime is the user and system CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
