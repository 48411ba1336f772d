package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// apiVersion is the value of the openai-version header the live service sends.
const apiVersion = "2020-10-01"

type requestIDKey struct{}

// requestID is the id given to the request being served, or "" outside of one.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// statusWriter passes a response through, adding openai-processing-ms when the header is written
// and keeping the status and size for the access log.
type statusWriter struct {
	http.ResponseWriter
	start       time.Time
	status      int
	written     int64
	wroteHeader bool
	clientGone  bool      // the request failed because the client hung up
	fault       FaultKind // the fault injected into the answer, if any
	operation   string    // the spec's operationId, once validation found the route
}

func (w *statusWriter) WriteHeader(status int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	w.status = status
	ms := time.Since(w.start).Milliseconds()
	w.Header().Set("openai-processing-ms", strconv.FormatInt(ms, 10))
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	return n, err
}

// Flush lets a streamed download reach the client as it is written.
func (w *statusWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// findStatusWriter is the statusWriter that observe put in place under w, looking through
// wrappers, or nil.
func findStatusWriter(w http.ResponseWriter) *statusWriter {
	for w != nil {
		if sw, ok := w.(*statusWriter); ok {
			return sw
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// headerWritten reports whether the response on w has started.
func headerWritten(w http.ResponseWriter) bool {
	sw := findStatusWriter(w)
	return sw != nil && sw.wroteHeader
}

// observe gives every request an id and every response the headers the live service sends
// (x-request-id, openai-version, openai-processing-ms), turns a panic into a 500, and writes one
// access log line per request. The log never holds the Authorization header or bodies.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		h := w.Header()
		h.Set("x-request-id", id)
		h.Set("openai-version", apiVersion)
		sw := &statusWriter{ResponseWriter: w, start: start, status: http.StatusOK}
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		body := &countingReader{ReadCloser: r.Body}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = body
		}
		s.metrics.inFlight.Inc()

		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.logger.LogAttrs(r.Context(), slog.LevelError, "panic while serving a request",
					slog.String("request_id", id), slog.Any("panic", p))
				if !sw.wroteHeader {
					writeError(sw, internalError())
				}
			}
			level := slog.LevelInfo
			if sw.status >= 500 && !sw.clientGone && sw.fault == "" {
				level = slog.LevelError
			}
			attrs := []slog.Attr{
				slog.String("request_id", id),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", sw.status),
				slog.Int64("bytes_in", r.ContentLength),
				slog.Int64("bytes_out", sw.written),
				slog.Duration("duration", time.Since(start)),
			}
			if sw.clientGone {
				attrs = append(attrs, slog.Bool("client_gone", true))
			}
			if sw.fault != "" {
				attrs = append(attrs, slog.String("fault", string(sw.fault)))
			}
			s.logger.LogAttrs(r.Context(), level, "request", attrs...)
			s.metrics.inFlight.Dec()
			s.metrics.observe(s.operationLabel(r, sw), sw.status, body.n, sw.written, time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

// countingReader counts the bytes read through it, for the metrics of request bodies.
type countingReader struct {
	io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}

// operationLabel names what r asked for in the metrics: the operationId validation found, else
// the one the spec's router finds (for requests refused before validation, such as a 401), else
// healthz, metrics or none.
func (s *Server) operationLabel(r *http.Request, sw *statusWriter) string {
	if sw.operation != "" {
		return sw.operation
	}
	switch r.URL.Path {
	case "/healthz":
		return opLabelHealthz
	case "/metrics":
		return opLabelMetrics
	}
	if op := s.operationOf(r); op != "" {
		return op
	}
	return opLabelNone
}

// findStatusWriterOrEmpty is findStatusWriter, or an empty statusWriter when w has none.
func findStatusWriterOrEmpty(w http.ResponseWriter) *statusWriter {
	if sw := findStatusWriter(w); sw != nil {
		return sw
	}
	return &statusWriter{}
}
