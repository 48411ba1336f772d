package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/uploadkit/uploads/server"
)

// scrape reads GET /metrics of e's server (outside /v1, without a key) and parses it.
func (e *env) scrape() map[string]*dto.MetricFamily {
	e.t.Helper()
	resp, err := http.Get(strings.TrimSuffix(e.URL, "/v1") + "/metrics")
	if err != nil {
		e.t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		e.t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// value is the value of the counter or gauge name with exactly the labels given (0 when absent).
func value(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f, ok := families[name]
	if !ok {
		return 0
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return 0
}

// TestMetricsMoveWithALifecycle: after a create, a part, a complete, a download, a cancel, a 404 and
// a 401, the request counters, the byte counters and the store's gauges say so.
func TestMetricsMoveWithALifecycle(t *testing.T) {
	e := newEnv(t)
	before := e.scrape()
	if got := value(before, "uploads_http_requests_total", "operation", "createUpload", "code", "200"); got != 0 {
		t.Fatalf("a new server counts %v creates", got)
	}

	u := e.createUpload(keyA, 5)
	part := e.mustAddPart(keyA, u.ID, []byte("hello"))
	if r := e.complete(keyA, u.ID, []string{part}, ""); r.Status != http.StatusOK {
		t.Fatalf("complete: %d %s", r.Status, r.Body)
	}
	pending := e.createUpload(keyA, 3)
	e.mustAddPart(keyA, pending.ID, []byte("abc"))
	other := e.createUpload(keyA, 1)
	if r := e.do("POST", "/uploads/"+other.ID+"/cancel", keyA, "", nil); r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/uploads/upload_missing/cancel", keyA, "", nil); r.Status != http.StatusNotFound {
		t.Fatalf("cancel of a missing upload: %d", r.Status)
	}
	if r := e.do("POST", "/uploads/"+u.ID+"/cancel", "sk-wrong", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("cancel with a wrong key: %d", r.Status)
	}

	m := e.scrape()
	for _, c := range []struct {
		op, code string
		want     float64
	}{
		{"createUpload", "200", 3},
		{"addUploadPart", "200", 2},
		{"completeUpload", "200", 1},
		{"cancelUpload", "200", 1},
		{"cancelUpload", "404", 1},
		{"cancelUpload", "401", 1},
		{"healthz", "200", 0},
	} {
		if got := value(m, "uploads_http_requests_total", "operation", c.op, "code", c.code); got != c.want {
			t.Errorf("uploads_http_requests_total{operation=%q,code=%q} = %v, want %v", c.op, c.code, got, c.want)
		}
	}
	if got := value(m, "uploads_http_request_duration_seconds", "operation", "createUpload"); got != 3 {
		t.Errorf("the duration histogram of createUpload has %v samples, want 3", got)
	}
	if got := value(m, "uploads_http_request_body_bytes_total", "operation", "addUploadPart"); got < 8 {
		t.Errorf("request bytes of addUploadPart = %v, want at least the 8 bytes of the parts", got)
	}
	for _, c := range []struct {
		name, state string
		want        float64
	}{
		{"uploads_store_uploads", "pending", 1},
		{"uploads_store_uploads", "completed", 1},
		{"uploads_store_uploads", "cancelled", 1},
		{"uploads_store_uploads", "expired", 0},
		{"uploads_store_pending_part_bytes", "", 3},
		{"uploads_store_files", "", 1},
		{"uploads_store_file_bytes", "", 5},
		{"uploads_store_stats_up", "", 1},
	} {
		var labels []string
		if c.state != "" {
			labels = []string{"state", c.state}
		}
		if got := value(m, c.name, labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, labels, got, c.want)
		}
	}
	if _, ok := m["go_goroutines"]; !ok {
		t.Error("the Go runtime's metrics are missing")
	}
	// The scrape before this one is a request too, but /metrics is counted under its own label.
	if got := value(m, "uploads_http_requests_total", "operation", "metrics", "code", "200"); got != 1 {
		t.Errorf("scrapes counted: %v, want 1", got)
	}
	for _, name := range []string{"uploads_sweeper_runs_total", "uploads_sweeper_swept_uploads_total",
		"uploads_sweeper_expired_files_total", "uploads_sweeper_freed_bytes_total"} {
		if _, ok := m[name]; !ok {
			t.Errorf("%s is missing before the first sweep", name)
		} else if got := value(m, name); got != 0 {
			t.Errorf("%s = %v before the first sweep, want 0", name, got)
		}
	}

	// The pending upload expires, and a sweep frees its part's 3 bytes. The cancel's (part-less)
	// upload is released by the store's background remover first, so that the sweep's count
	// does not depend on when that ran.
	if err := e.store.Settle(context.Background()); err != nil {
		t.Fatalf("settle: %v", err)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.srv.Sweep(context.Background()); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	m = e.scrape()
	for _, c := range []struct {
		name string
		want float64
	}{
		{"uploads_sweeper_runs_total", 1},
		{"uploads_sweeper_errors_total", 0},
		{"uploads_sweeper_swept_uploads_total", 1},
		{"uploads_sweeper_expired_files_total", 0},
		{"uploads_sweeper_freed_bytes_total", 3},
		{"uploads_store_pending_part_bytes", 0},
	} {
		if got := value(m, c.name); got != c.want {
			t.Errorf("after the expiry and a sweep, %s = %v, want %v", c.name, got, c.want)
		}
	}
	if got := value(m, "uploads_store_uploads", "state", "expired"); got != 1 {
		t.Errorf("after the expiry, uploads_store_uploads{state=\"expired\"} = %v, want 1", got)
	}
}

// TestMetricsCanBeTurnedOff: with DisableMetrics, GET /metrics is an unknown path answered with the
// error envelope, and MetricsHandler still serves them.
func TestMetricsCanBeTurnedOff(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.DisableMetrics = true })
	resp, err := http.Get(strings.TrimSuffix(e.URL, "/v1") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics with metrics off: %d, want 404", resp.StatusCode)
	}
	e.createUpload(keyA, 1)
	rec := httptest.NewRecorder()
	e.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `uploads_http_requests_total{code="200",operation="createUpload"} 1`) {
		t.Errorf("MetricsHandler does not count the create:\n%s", rec.Body.String())
	}
}
