package conformance

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/uploadkit/uploads/internal/speccheck"
)

// Report receives each violation found by a wrapper. A test's Errorf is the usual choice; it must be
// safe for concurrent use, since exchanges may run in parallel.
type Report func(err error)

func isJSON(contentType string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "application/json")
}

// RoundTripper wraps next (http.DefaultTransport when nil) so that every request it sends and every
// response it receives is checked against the spec; violations go to report. Requests that match no
// operation are reported too: a client of this API should send nothing else. The exchange itself is
// passed through unchanged; bodies that are streamed (parts, downloads) are not read.
func (v *Validator) RoundTripper(next http.RoundTripper, report Report) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		c := v.roundTrip(next, req, true)
		if c.requestErr != nil {
			report(fmt.Errorf("client sent a request that breaks the spec: %w", c.requestErr))
		}
		switch {
		case c.err != nil:
		case c.tooLarge:
			report(fmt.Errorf("%s %s: JSON response body is over %d bytes", req.Method, req.URL.Path, maxBufferedBody))
		case c.responseErr != nil:
			report(fmt.Errorf("server answered with a response that breaks the spec: %w", c.responseErr))
		}
		return c.resp, c.err
	})
}

// checkedRoundTrip is an exchange sent through next and checked against the spec.
type checkedRoundTrip struct {
	resp *http.Response
	err  error // the transport's own failure, or one reading a JSON response body: the caller's
	// routed is false when the request matches no operation (then requestErr says so).
	routed      bool
	requestErr  error
	responseErr error
	tooLarge    bool // the JSON response body was too large to check
}

// roundTrip sends req through next, checking the request and, when it got one, the response. A JSON
// response body (at most maxBufferedBody bytes) is read ahead to be checked, then handed to the
// caller whole; a larger one is handed on unchecked. A request that matches no operation is a
// violation with unrouted set, else it is sent on unchecked.
func (v *Validator) roundTrip(next http.RoundTripper, req *http.Request, unrouted bool) checkedRoundTrip {
	var c checkedRoundTrip
	route, params, err := v.Route(req)
	c.routed = err == nil
	switch {
	case c.routed:
		if req.Body != nil && req.Body != http.NoBody && !speccheck.StreamsRequestBody(route) {
			// The check reads the body and puts a copy back: into a copy of the request, since a
			// transport must not change the caller's.
			req = req.Clone(req.Context())
		}
		c.requestErr = v.validateRequest(req, route, params)
	case unrouted:
		c.requestErr = err
	default:
		c.resp, c.err = next.RoundTrip(req)
		return c
	}
	resp, err := next.RoundTrip(req)
	if err != nil {
		c.resp, c.err = resp, err
		return c
	}
	c.resp = resp
	var body []byte
	if isJSON(resp.Header.Get("Content-Type")) {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxBufferedBody+1))
		if err != nil {
			resp.Body.Close()
			// Hand the failure to the caller as it happened; there is nothing to validate.
			c.resp, c.err = nil, err
			return c
		}
		if len(body) > maxBufferedBody {
			// Give the caller the whole body, not the part that was read, and check nothing.
			resp.Body = readCloser{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
			c.tooLarge = true
			return c
		}
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	if c.routed {
		c.responseErr = v.validateResponse(req, route, params, resp.StatusCode, resp.Header, body)
	}
	return c
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Handler wraps a server so that every response it writes to a request for one of the spec's
// operations is checked against the spec; violations go to report. Requests are checked only when
// the server answered them with a 2xx: a server may refuse a bad request, but must never accept
// one. Requests for paths outside the spec (such as /healthz) are passed through unchecked.
func (v *Validator) Handler(next http.Handler, report Report) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, params, err := v.Route(r)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		// Keep a copy of the request (without its body) for validation after the handler ran, and
		// of a small JSON body, which the handler will consume.
		check := r.Clone(r.Context())
		// The handler gets a copy of the request: net/http looks at the type of the original's
		// body after the handler returns, so that one must stay as it is.
		r = r.WithContext(r.Context())
		var reqBody []byte
		if isJSON(r.Header.Get("Content-Type")) && r.ContentLength <= maxBufferedBody {
			b, err := io.ReadAll(io.LimitReader(r.Body, maxBufferedBody+1))
			if err == nil && len(b) <= maxBufferedBody {
				reqBody = b
				r.Body = io.NopCloser(bytes.NewReader(b))
			} else {
				r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), r.Body))
			}
		}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)

		if rec.status/100 == 2 {
			check.Body = io.NopCloser(bytes.NewReader(reqBody))
			if err := v.validateRequest(check, route, params); err != nil {
				report(fmt.Errorf("server accepted a request that breaks the spec: %w", err))
			}
		}
		if rec.overflow {
			report(fmt.Errorf("%s %s: JSON response body is over %d bytes", r.Method, r.URL.Path, maxBufferedBody))
			return
		}
		if err := v.validateResponse(check, route, params, rec.status, rec.Header(), rec.body.Bytes()); err != nil {
			report(fmt.Errorf("server wrote a response that breaks the spec: %w", err))
		}
	})
}

// recorder passes a response through while keeping its status and, for JSON, a copy of its body.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	keepBody    bool
	overflow    bool
	body        bytes.Buffer
}

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.wroteHeader = true
		r.status = status
		r.keepBody = isJSON(r.Header().Get("Content-Type"))
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if r.keepBody && !r.overflow {
		if r.body.Len()+len(p) > maxBufferedBody {
			r.overflow = true
		} else {
			r.body.Write(p)
		}
	}
	return r.ResponseWriter.Write(p)
}

// Flush lets streaming handlers flush through the wrapper.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
