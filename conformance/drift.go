package conformance

import "net/http"

// ReportingTransport wraps next (http.DefaultTransport when nil) for production use: each exchange
// for an operation of the spec is checked, as RoundTripper checks it, and each violation goes to
// report with the operation, the status and the x-request-id of the answer, so that a service
// that starts answering differently is noticed where it happens. One drifted field of one answer
// is one call of report.
//
// It never fails a call and never changes what the caller gets: the transport's own errors are
// returned as they are, and a call whose exchange breaks the spec succeeds as it would without the
// check. The only cost is the check itself: a JSON response body (up to 1 MiB) is read ahead and
// validated before the caller gets it (BENCHMARKS.md gives the time per call). Bodies that are
// streamed (parts, file contents), JSON bodies over 1 MiB and requests for paths outside the spec
// (other endpoints of the same API) are passed on unchecked and unreported.
//
// report is called on the goroutine of the call, after the answer arrived and before the caller
// gets it: it must be safe for concurrent use, and quick (a log/slog logger is both).
func (v *Validator) ReportingTransport(next http.RoundTripper, report func(Violation)) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		c := v.roundTrip(next, req, false)
		status, requestID := 0, ""
		if c.resp != nil {
			status, requestID = c.resp.StatusCode, c.resp.Header.Get("X-Request-Id")
		}
		for _, err := range []error{c.requestErr, c.responseErr} {
			for _, vi := range Violations(err) {
				vi.Status, vi.RequestID = status, requestID
				report(vi)
			}
		}
		return c.resp, c.err
	})
}
