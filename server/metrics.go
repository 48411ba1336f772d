package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/uploadkit/uploads/store"
)

// metrics are the server's Prometheus metrics. Each Server has its own registry (no global
// state), served by MetricsHandler and, unless Config.DisableMetrics, at GET /metrics beside the
// API: outside /v1, without authentication, like /healthz.
//
// The metric names are documented in README.md ("Metrics"); renaming one breaks dashboards, so
// treat them like the API.
type metrics struct {
	registry *prometheus.Registry

	requests *prometheus.CounterVec   // by operation and status code
	duration *prometheus.HistogramVec // by operation
	inFlight prometheus.Gauge
	bytesIn  *prometheus.CounterVec // request bodies, by operation
	bytesOut *prometheus.CounterVec // response bodies, by operation

	sweeps      prometheus.Counter
	sweepErrors prometheus.Counter
	swept       prometheus.Counter     // expired or cancelled uploads released
	sweptFiles  prometheus.Counter     // expired Files deleted
	sweptBytes  prometheus.Counter     // part bytes released
	storeErrors *prometheus.CounterVec // by operation
	faults      *prometheus.CounterVec // by kind and operation
}

// operation labels for requests that name no operation of the spec.
const (
	opLabelNone    = "none"    // a path outside the API, or a method it does not have
	opLabelHealthz = "healthz" // GET /healthz
	opLabelMetrics = "metrics" // GET /metrics
)

func newMetrics(s *Server) *metrics {
	m := &metrics{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "uploads_http_requests_total",
		Help: "Requests answered, by operation (the spec's operationId) and HTTP status code.",
	}, []string{"operation", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "uploads_http_request_duration_seconds",
		Help:    "Time from a request's arrival to the end of its answer, by operation.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	}, []string{"operation"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "uploads_http_requests_in_flight",
		Help: "Requests being served.",
	})
	m.bytesIn = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "uploads_http_request_body_bytes_total",
		Help: "Bytes of request bodies read, by operation (parts' bytes under addUploadPart).",
	}, []string{"operation"})
	m.bytesOut = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "uploads_http_response_body_bytes_total",
		Help: "Bytes of response bodies written, by operation (file contents under downloadFile).",
	}, []string{"operation"})
	m.sweeps = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "uploads_sweeper_runs_total",
		Help: "Runs of the sweeper that frees the bytes of expired and cancelled uploads.",
	})
	m.sweepErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "uploads_sweeper_errors_total",
		Help: "Runs of the sweeper that failed.",
	})
	m.swept = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "uploads_sweeper_swept_uploads_total",
		Help: "Expired or cancelled uploads whose part bytes the sweeper freed.",
	})
	m.sweptFiles = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "uploads_sweeper_expired_files_total",
		Help: "Files the sweeper deleted because they had expired.",
	})
	m.sweptBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "uploads_sweeper_freed_bytes_total",
		Help: "Part bytes the sweeper freed: of expired and cancelled uploads, of expired Files, and releases left unfinished (bytes a cancel, a completion or a file deletion freed itself are not counted).",
	})
	m.storeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "uploads_store_errors_total",
		Help: "Requests answered 500 because the store (or other code inside the server) failed, by operation. Clients hanging up are not counted.",
	}, []string{"operation"})
	m.faults = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "uploads_faults_injected_total",
		Help: "Faults injected on purpose (-faults, or the fault header), by kind and operation.",
	}, []string{"kind", "operation"})

	m.registry.MustRegister(m.requests, m.duration, m.inFlight, m.bytesIn, m.bytesOut,
		m.sweeps, m.sweepErrors, m.swept, m.sweptFiles, m.sweptBytes, m.storeErrors, m.faults,
		&storeCollector{s: s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// handler serves the registry in the Prometheus text (or OpenMetrics) format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

// observe records one answered request.
func (m *metrics) observe(op string, status int, in, out int64, took time.Duration) {
	m.requests.WithLabelValues(op, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(op).Observe(took.Seconds())
	if in > 0 {
		m.bytesIn.WithLabelValues(op).Add(float64(in))
	}
	if out > 0 {
		m.bytesOut.WithLabelValues(op).Add(float64(out))
	}
}

// sweep records one run of the sweeper, and what it released (also when it failed midway).
func (m *metrics) sweep(res store.SweepResult, err error) {
	m.sweeps.Inc()
	if err != nil {
		m.sweepErrors.Inc()
	}
	m.swept.Add(float64(res.Uploads))
	m.sweptFiles.Add(float64(res.Files))
	m.sweptBytes.Add(float64(res.Bytes))
}

// MetricsHandler serves the server's Prometheus metrics, for binding them to another address
// than the API's (see Config.DisableMetrics).
func (s *Server) MetricsHandler() http.Handler { return s.metrics.handler() }

// storeCollector reads, at each scrape, what the store holds: uploads by state, and the bytes of
// pending uploads' parts and of Files. Stores that cannot count (they do not implement
// store.StatsReporter) contribute nothing.
type storeCollector struct{ s *Server }

var (
	descUploads = prometheus.NewDesc("uploads_store_uploads",
		"Uploads in the store, by state (expired: pending past expires_at).", []string{"state"}, nil)
	descPendingBytes = prometheus.NewDesc("uploads_store_pending_part_bytes",
		"Bytes of the parts of pending, unexpired uploads.", nil, nil)
	descFiles = prometheus.NewDesc("uploads_store_files",
		"Files in the store that have not expired.", nil, nil)
	descFileBytes = prometheus.NewDesc("uploads_store_file_bytes",
		"Bytes of the Files in the store that have not expired.", nil, nil)
	descStatsUp = prometheus.NewDesc("uploads_store_stats_up",
		"1 when the store answered the scrape's count, 0 when it failed.", nil, nil)
)

// statsTimeout bounds the store's count during a scrape, so a slow store cannot hang scrapes.
const statsTimeout = 5 * time.Second

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUploads, descPendingBytes, descFiles, descFileBytes, descStatsUp} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	r, ok := c.s.store.(store.StatsReporter)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	st, err := r.Stats(ctx, c.s.now().Unix())
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descStatsUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descStatsUp, prometheus.GaugeValue, 1)
	for _, state := range []store.Status{store.StatusPending, store.StatusCompleted, store.StatusCancelled, store.StatusExpired} {
		ch <- prometheus.MustNewConstMetric(descUploads, prometheus.GaugeValue, float64(st.Uploads[state]), string(state))
	}
	ch <- prometheus.MustNewConstMetric(descPendingBytes, prometheus.GaugeValue, float64(st.PendingPartBytes))
	ch <- prometheus.MustNewConstMetric(descFiles, prometheus.GaugeValue, float64(st.Files))
	ch <- prometheus.MustNewConstMetric(descFileBytes, prometheus.GaugeValue, float64(st.FileBytes))
}
