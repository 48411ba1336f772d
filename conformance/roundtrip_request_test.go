package conformance_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRoundTripperReportsBadRequests sends requests that break the spec through the client-side
// wrapper: each must be reported as the client's fault, once, and still reach the server as sent,
// since the wrapper observes and never blocks.
func TestRoundTripperReportsBadRequests(t *testing.T) {
	v := newValidator(t)
	const create = `{"purpose":"batch","filename":"a.jsonl","bytes":8,"mime_type":"text/jsonl"}`
	tests := []struct {
		name, method, path, contentType, body string
		want                                  string // "" when the request is valid
	}{
		{"valid create", "POST", "/v1/uploads", "application/json", create, ""},
		{"create without purpose", "POST", "/v1/uploads", "application/json",
			`{"filename":"a.jsonl","bytes":8,"mime_type":"text/jsonl"}`, "purpose"},
		{"create with bytes a string", "POST", "/v1/uploads", "application/json",
			`{"purpose":"batch","filename":"a.jsonl","bytes":"8","mime_type":"text/jsonl"}`, "bytes"},
		{"complete without part_ids", "POST", "/v1/uploads/upload_abc/complete", "application/json", `{}`, "part_ids"},
		{"no such operation", "GET", "/v1/uploads/upload_abc/parts", "", "", "client sent a request that breaks the spec"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = r.Method + " " + r.URL.Path + " " + string(b)
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, uploadJSON)
			}))
			defer srv.Close()
			var rep reports
			client := &http.Client{Transport: v.RoundTripper(nil, rep.report)}
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer sk-test")
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("the wrapper blocked the request: %v", err)
			}
			resp.Body.Close()
			if want := tc.method + " " + tc.path + " " + tc.body; got != want {
				t.Errorf("the server received %q, want %q", got, want)
			}
			var requestReports []string
			for _, err := range rep.all() {
				if strings.HasPrefix(err.Error(), "client sent a request that breaks the spec") {
					requestReports = append(requestReports, err.Error())
				}
			}
			switch {
			case tc.want == "" && len(requestReports) != 0:
				t.Errorf("a valid request was reported: %q", requestReports)
			case tc.want != "" && (len(requestReports) != 1 || !strings.Contains(requestReports[0], tc.want)):
				t.Errorf("reports about the request = %q, want one that names %q", requestReports, tc.want)
			}
		})
	}
}
