package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uploadkit/uploads/openapi"
)

// FaultKind is a kind of fault the server can inject into its answers, to test how clients cope
// with what the live service does under load.
type FaultKind string

// The faults the server can inject.
const (
	// FaultRateLimited answers 429 with the rate-limit error envelope, retry-after-ms and
	// retry-after (Faults.RetryAfter).
	FaultRateLimited FaultKind = "429"
	// FaultInternal answers 500 with the server_error envelope the live service sends.
	FaultInternal FaultKind = "500"
	// FaultBadGateway answers 502 with the envelope of the live service's edge (type cf_bad_gateway).
	FaultBadGateway FaultKind = "502"
	// FaultUnavailable answers 503 with the server_error envelope of an overloaded service.
	FaultUnavailable FaultKind = "503"
	// FaultReset drops the connection before the handler runs: the request has no effect.
	FaultReset FaultKind = "reset"
	// FaultResetAfter runs the handler, then drops the connection instead of answering: the
	// request had its full effect, and the client never learns it. This is the lost answer.
	FaultResetAfter FaultKind = "reset-after"
	// FaultSlow holds the request for Faults.SlowDelay before the handler runs, so the answer's
	// headers come late. The body is received during the hold (as a proxy that buffers requests
	// would), so that a client that gives up is seen at once: its hold ends, the handler never
	// runs, and the store is untouched. Server.EndHolds (at shutdown) ends every hold early, and
	// the held requests are then served at once.
	FaultSlow FaultKind = "slow"
)

// faultKinds are the kinds in the order they are documented.
var faultKinds = []FaultKind{
	FaultRateLimited, FaultInternal, FaultBadGateway, FaultUnavailable, FaultReset, FaultResetAfter, FaultSlow,
}

// FaultHeader is the request header that asks for one fault, when Faults.AllowHeader is set: its
// value is a FaultKind, or "none" for no fault at all (not even a random one).
const FaultHeader = "X-Uploadkit-Fault"

// Defaults of Faults.
const (
	DefaultFaultSlowDelay  = 5 * time.Second
	DefaultFaultRetryAfter = time.Second
)

// FaultRule injects Kind into Percent percent of the requests.
type FaultRule struct {
	Kind    FaultKind
	Percent float64
}

// ParseFaults reads a fault specification: a comma-separated list of KIND:PERCENT, such as
// "503:5%,reset-after:1%" (the % sign is optional). Each kind may appear once; the percentages
// add up to at most 100.
func ParseFaults(spec string) ([]FaultRule, error) {
	var rules []FaultRule
	total := 0.0
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		kind, pct, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("fault %q: want KIND:PERCENT, such as 503:5%%", item)
		}
		k := FaultKind(strings.ToLower(strings.TrimSpace(kind)))
		if !slices.Contains(faultKinds, k) {
			return nil, fmt.Errorf("fault %q: unknown kind %q (want one of %s)", item, kind, kindList())
		}
		p, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(pct), "%"), 64)
		if err != nil || !(p > 0 && p <= 100) {
			return nil, fmt.Errorf("fault %q: the percentage must be a number above 0 and at most 100", item)
		}
		if slices.ContainsFunc(rules, func(r FaultRule) bool { return r.Kind == k }) {
			return nil, fmt.Errorf("fault %q: %s is given twice", item, k)
		}
		total += p
		rules = append(rules, FaultRule{Kind: k, Percent: p})
	}
	if total > 100 {
		return nil, fmt.Errorf("faults %q: the percentages add up to %g, more than 100", spec, total)
	}
	return rules, nil
}

func kindList() string {
	names := make([]string, len(faultKinds))
	for i, k := range faultKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// Faults makes the server misbehave on purpose, as the live service sometimes does, so that
// clients' retry and recovery paths can be tested. Faults apply to the API under /v1 only, never
// to /healthz or other paths outside it. The zero value injects nothing.
type Faults struct {
	// Rules say which faults to inject into what share of the requests. Each request draws one
	// random number: the rules split 0-100 among them, in order.
	Rules []FaultRule
	// Seed seeds the random draws: the same seed and the same sequence of requests give the same
	// faults.
	Seed uint64
	// Operations, when not empty, limits the random faults to these operations (operationIds of
	// openapi/uploads.yaml, such as addUploadPart).
	Operations []string
	// AllowHeader makes the server honour FaultHeader on any request under /v1, whatever the
	// rules: for tests that need one fault at one request.
	AllowHeader bool
	// SlowDelay is how long FaultSlow holds a request (DefaultFaultSlowDelay when 0).
	SlowDelay time.Duration
	// RetryAfter is the wait an injected 429 asks for (DefaultFaultRetryAfter when 0).
	RetryAfter time.Duration
	// OnInject, when set, is called for every fault injected, before it takes effect: a place to
	// count faults (the server also logs one line per fault, "fault injected"). It must be safe
	// for concurrent use.
	OnInject func(InjectedFault)
}

// InjectedFault describes one injected fault.
type InjectedFault struct {
	Kind FaultKind
	// Operation is the operationId of the request, or "" when its path names none.
	Operation string
	// Requested is true when the request asked for the fault with FaultHeader.
	Requested bool
	// RequestID is the x-request-id of the request.
	RequestID string
}

func (f *Faults) enabled() bool { return len(f.Rules) > 0 || f.AllowHeader }

// faultInjector draws and injects faults.
type faultInjector struct {
	cfg Faults
	ops map[string]bool // nil: every operation

	mu  sync.Mutex
	rng *rand.Rand
}

func newFaultInjector(ctx context.Context, f Faults) (*faultInjector, error) {
	total := 0.0
	for _, r := range f.Rules {
		if !slices.Contains(faultKinds, r.Kind) {
			return nil, fmt.Errorf("faults: unknown kind %q (want one of %s)", r.Kind, kindList())
		}
		if !(r.Percent > 0 && r.Percent <= 100) {
			return nil, fmt.Errorf("faults: %s:%g%%: the percentage must be above 0 and at most 100", r.Kind, r.Percent)
		}
		total += r.Percent
	}
	if total > 100 {
		return nil, fmt.Errorf("faults: the percentages add up to %g, more than 100", total)
	}
	if f.SlowDelay < 0 || f.RetryAfter < 0 {
		return nil, errors.New("faults: negative delay")
	}
	if f.SlowDelay == 0 {
		f.SlowDelay = DefaultFaultSlowDelay
	}
	if f.RetryAfter == 0 {
		f.RetryAfter = DefaultFaultRetryAfter
	}
	fi := &faultInjector{cfg: f, rng: rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))}
	if len(f.Operations) > 0 {
		known, err := operationIDs(ctx)
		if err != nil {
			return nil, fmt.Errorf("faults: %w", err)
		}
		fi.ops = make(map[string]bool)
		for _, op := range f.Operations {
			if !slices.Contains(known, op) {
				return nil, fmt.Errorf("faults: unknown operation %q (want one of %s)", op, strings.Join(known, ", "))
			}
			fi.ops[op] = true
		}
	}
	return fi, nil
}

// operationIDs lists the operationIds of the API, sorted.
func operationIDs(ctx context.Context) ([]string, error) {
	doc, err := openapi.Load(ctx)
	if err != nil {
		return nil, err
	}
	var ops []string
	for _, p := range doc.Paths.InMatchingOrder() {
		for _, op := range doc.Paths.Value(p).Operations() {
			if !slices.Contains(ops, op.OperationID) {
				ops = append(ops, op.OperationID)
			}
		}
	}
	slices.Sort(ops)
	return ops, nil
}

// operationOf is the operationId of r, or "" when its path names no operation.
func (s *Server) operationOf(r *http.Request) string {
	route, _, err := s.router.FindRoute(r)
	if err != nil {
		return ""
	}
	return route.Operation.OperationID
}

// pick decides the fault for r: the one its header asks for, else a random one. An unknown
// header value is an error.
func (fi *faultInjector) pick(r *http.Request, op string) (kind FaultKind, requested bool, err error) {
	if fi.cfg.AllowHeader {
		if v := strings.ToLower(strings.TrimSpace(r.Header.Get(FaultHeader))); v != "" {
			if v == "none" {
				return "", true, nil
			}
			if !slices.Contains(faultKinds, FaultKind(v)) {
				return "", true, fmt.Errorf("invalid %s header %q: want one of %s, or none", FaultHeader, v, kindList())
			}
			return FaultKind(v), true, nil
		}
	}
	if len(fi.cfg.Rules) == 0 || (fi.ops != nil && !fi.ops[op]) {
		return "", false, nil
	}
	fi.mu.Lock()
	draw := fi.rng.Float64() * 100
	fi.mu.Unlock()
	for _, rule := range fi.cfg.Rules {
		if draw < rule.Percent {
			return rule.Kind, false, nil
		}
		draw -= rule.Percent
	}
	return "", false, nil
}

// injectFaults injects the configured faults into the requests under /v1. It runs before
// authenticate, as a failing proxy or an overloaded service would.
func (s *Server) injectFaults(next http.Handler) http.Handler {
	fi := s.faults
	if fi == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := ""
		if fi.ops != nil {
			op = s.operationOf(r)
		}
		kind, requested, err := fi.pick(r, op)
		if err != nil {
			msg := err.Error()
			writeError(w, badRequest("", "", "%s.", strings.ToUpper(msg[:1])+msg[1:]))
			return
		}
		if kind == "" {
			next.ServeHTTP(w, r)
			return
		}
		if op == "" {
			op = s.operationOf(r)
		}
		id := requestID(r.Context())
		source := "random"
		if requested {
			source = "header"
		}
		s.logger.LogAttrs(r.Context(), slog.LevelWarn, "fault injected",
			slog.String("request_id", id),
			slog.String("fault", string(kind)),
			slog.String("operation", op),
			slog.String("source", source))
		if sw := findStatusWriter(w); sw != nil {
			sw.fault = kind
		}
		s.metrics.faults.WithLabelValues(string(kind), op).Inc()
		if fi.cfg.OnInject != nil {
			fi.cfg.OnInject(InjectedFault{Kind: kind, Operation: op, Requested: requested, RequestID: id})
		}

		switch kind {
		case FaultReset:
			dropConnection(w)
		case FaultResetAfter:
			// The handler runs to its end, the store changes as it would have; what it answers
			// goes nowhere.
			next.ServeHTTP(&discardWriter{header: http.Header{}}, r)
			dropConnection(w)
		case FaultSlow:
			s.hold(w, r, next, fi.cfg.SlowDelay)
		default:
			discardBody(r, s.maxPart+multipartSlack)
			e := faultError(kind)
			if kind == FaultRateLimited {
				setRetryAfter(w.Header(), fi.cfg.RetryAfter)
				e.Message = fmt.Sprintf("Rate limit reached for requests. Please try again in %v.", fi.cfg.RetryAfter)
			}
			writeError(w, e)
		}
	})
}

// faultError is the answer of a status fault, as the live service words it.
func faultError(kind FaultKind) *apiError {
	switch kind {
	case FaultRateLimited:
		return &apiError{Status: http.StatusTooManyRequests, Type: typeRequests, Code: codeRateLimitExceeded}
	case FaultBadGateway:
		return &apiError{Status: http.StatusBadGateway, Message: "Bad gateway.", Type: "cf_bad_gateway"}
	case FaultUnavailable:
		return &apiError{Status: http.StatusServiceUnavailable, Message: "The server is overloaded or not ready yet.", Type: typeServer}
	}
	return internalError()
}

// discardBody reads what is left of r's body, up to limit bytes, so that a client still sending
// it reads the early answer instead of failing to write. A client that waits for 100 Continue
// before sending the body reads the answer first, so its body is left unasked for.
func discardBody(r *http.Request, limit int64) {
	if strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, limit))
	}
}

// dropConnection closes the connection of w without an answer: with a TCP reset where the
// connection can be taken over, else by aborting the handler, which net/http turns into a close.
func dropConnection(w http.ResponseWriter) {
	markDropped(w)
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2, or a writer that cannot hand over its connection: net/http's own way to abort
		// a response. It never leaves the server.
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// markDropped makes the access log show status 0 for a request that got no answer.
func markDropped(w http.ResponseWriter) {
	if sw := findStatusWriter(w); sw != nil {
		sw.status = 0
	}
}

// discardWriter takes a handler's answer and keeps none of it.
type discardWriter struct {
	header http.Header
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}
