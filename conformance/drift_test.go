package conformance_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/uploadkit/uploads/conformance"
)

// violations collects what a reporting transport reports; safe for concurrent use.
type violations struct {
	mu  sync.Mutex
	all []conformance.Violation
}

func (v *violations) report(vi conformance.Violation) {
	v.mu.Lock()
	v.all = append(v.all, vi)
	v.mu.Unlock()
}

func (v *violations) list() []conformance.Violation {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]conformance.Violation(nil), v.all...)
}

// answering is a server that answers every request with status and body, as JSON, with a request id.
func answering(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req_drift")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, client *http.Client, method, url, contentType, body string) (int, string) {
	t.Helper()
	var r io.Reader = http.NoBody
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sk-test")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("the call failed: %v", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	return resp.StatusCode, string(got)
}

// TestReportingTransportDrift sends three calls to a server whose answers have drifted (a status of
// "paused"): each answer is reported once, with everything needed to find it, and each call
// succeeds with the answer as it came.
func TestReportingTransportDrift(t *testing.T) {
	drifted := strings.Replace(uploadJSON, `"cancelled"`, `"paused"`, 1)
	srv := answering(t, http.StatusOK, drifted)
	var got violations
	client := &http.Client{Transport: newValidator(t).ReportingTransport(nil, got.report)}
	for range 3 {
		status, body := call(t, client, "POST", srv.URL+"/v1/uploads/upload_abc/cancel", "", "")
		if status != http.StatusOK || body != drifted {
			t.Fatalf("the call got %d %q, want the answer as it came", status, body)
		}
	}
	all := got.list()
	if len(all) != 3 {
		t.Fatalf("%d reports for 3 drifted answers, want 3: %v", len(all), all)
	}
	want := conformance.Violation{Operation: "cancelUpload", Side: "response", Status: 200, In: "body", Field: "/status", RequestID: "req_drift"}
	for _, vi := range all {
		reason := vi.Reason
		vi.Reason = ""
		if vi != want || !strings.Contains(reason, "value is not one of the allowed values") {
			t.Errorf("reported %+v (reason %q), want %+v for an unknown status", vi, reason, want)
		}
	}
}

// TestReportingTransportQuiet: answers the spec documents, a real 503 among them, and calls outside
// the spec are not reported.
func TestReportingTransportQuiet(t *testing.T) {
	unavailable := `{"error":{"message":"The server is overloaded or not ready yet.","type":"server_error","param":null,"code":null}}`
	for _, tc := range []struct {
		name, path string
		status     int
		body       string
	}{
		{"valid answer", "/v1/uploads/upload_abc/cancel", 200, uploadJSON},
		{"503", "/v1/uploads/upload_abc/cancel", 503, unavailable},
		{"502", "/v1/uploads/upload_abc/cancel", 502, unavailable},
		{"another endpoint", "/v1/chat/completions", 200, `{"anything":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := answering(t, tc.status, tc.body)
			var got violations
			client := &http.Client{Transport: newValidator(t).ReportingTransport(nil, got.report)}
			if status, _ := call(t, client, "POST", srv.URL+tc.path, "", ""); status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			for _, vi := range got.list() {
				t.Errorf("reported %s", vi)
			}
		})
	}
}

// TestReportingTransportRequest reports a request that breaks the spec, with the answer's status
// and request id, and still sends it.
func TestReportingTransportRequest(t *testing.T) {
	srv := answering(t, http.StatusOK, strings.Replace(uploadJSON, "cancelled", "completed", 1))
	var got violations
	client := &http.Client{Transport: newValidator(t).ReportingTransport(nil, got.report)}
	status, _ := call(t, client, "POST", srv.URL+"/v1/uploads/upload_abc/complete", "application/json", `{"part_ids":[]}`)
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	all := got.list()
	if len(all) != 1 || all[0].Side != "request" || all[0].Field != "/part_ids" || all[0].Status != 200 || all[0].RequestID != "req_drift" {
		t.Errorf("reported %v, want the empty part_ids of the request, with the answer's status and id", all)
	}
}

// TestReportingTransportFailure hands the transport's failure to the caller as it is.
func TestReportingTransportFailure(t *testing.T) {
	srv := answering(t, 200, uploadJSON)
	srv.Close()
	var got violations
	client := &http.Client{Transport: newValidator(t).ReportingTransport(nil, got.report)}
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/v1/uploads/upload_abc/cancel", nil)
	req.Header.Set("Authorization", "Bearer sk-test")
	if _, err := client.Do(req); err == nil {
		t.Fatal("a call to a closed server succeeded")
	}
	if all := got.list(); len(all) != 0 {
		t.Errorf("reported %v for a call that got no answer", all)
	}
}

func TestViolationString(t *testing.T) {
	for _, tc := range []struct {
		v    conformance.Violation
		want string
	}{
		{conformance.Violation{Operation: "cancelUpload", Side: "response", Status: 200, In: "body", Field: "/status", Reason: "bad", RequestID: "req_1"},
			"cancelUpload response 200: body /status: bad (request req_1)"},
		{conformance.Violation{Operation: "completeUpload", Side: "request", Status: 200, In: "body", Field: "/part_ids", Reason: "too few"},
			"completeUpload request: body /part_ids: too few"},
		{conformance.Violation{In: "route", Reason: "no operation"}, "route: no operation"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}

// TestReportingTransportLeavesRequest checks a JSON request without changing the caller's request.
func TestReportingTransportLeavesRequest(t *testing.T) {
	srv := answering(t, http.StatusOK, strings.Replace(uploadJSON, "cancelled", "completed", 1))
	var got violations
	client := &http.Client{Transport: newValidator(t).ReportingTransport(nil, got.report)}
	body := io.NopCloser(strings.NewReader(`{"part_ids":["part_abc"]}`))
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/v1/uploads/upload_abc/complete", body)
	req.Header.Set("Authorization", "Bearer sk-test")
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.Body != body {
		t.Error("the transport replaced the body of the caller's request")
	}
	if all := got.list(); len(all) != 0 {
		t.Errorf("reported %v for a valid exchange", all)
	}
}
