// Package faultproxy is a loopback HTTP proxy for tests that breaks chosen exchanges between a
// client and a real server: it can lose the answer to a request the server handled, reset the
// connection before a request reaches the server, stall, or answer in the server's place. Every
// other exchange passes through unchanged.
//
// It exists to test what a client reports when the network fails at the worst moment: after the
// server did the work, before the client heard of it.
package faultproxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Fault is what the proxy does to a request a Rule picks.
type Fault int

const (
	// LoseAnswer forwards the request, reads the server's whole answer, and resets the client's
	// connection instead of sending it on: the server did the work, the client never hears of it.
	LoseAnswer Fault = iota + 1
	// ResetBeforeForward resets the client's connection before anything reaches the server.
	ResetBeforeForward
	// Stall reads the request and holds it without forwarding it until the client gives up or
	// the proxy is closed.
	Stall
	// StallAnswer forwards the request and holds the server's answer until the client gives up
	// or the proxy is closed: a lost answer that the client notices only by its own timeout.
	StallAnswer
	// Answer does not forward the request, and sends the Rule's Status and Body instead, as JSON.
	Answer
)

func (f Fault) String() string {
	switch f {
	case LoseAnswer:
		return "answer lost"
	case ResetBeforeForward:
		return "reset before forwarding"
	case Stall:
		return "stall"
	case StallAnswer:
		return "answer stalled"
	case Answer:
		return "answered by the proxy"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Rule picks requests by route and says what to do to them.
type Rule struct {
	// Method is the request method, such as "POST"; empty matches every method.
	Method string
	// Path is the request path, such as "/v1/uploads/*/complete": a "*" segment matches any one
	// segment.
	Path string
	// Nth picks the Nth request that matches (from 1); 0 picks every one.
	Nth int
	// Fault is what is done to the picked requests.
	Fault Fault
	// Status and Body are the answer the Answer fault sends.
	Status int
	Body   string
}

func (r Rule) matches(req *http.Request) bool {
	if r.Method != "" && r.Method != req.Method {
		return false
	}
	want := strings.Split(strings.Trim(r.Path, "/"), "/")
	got := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if want[i] != "*" && want[i] != got[i] {
			return false
		}
	}
	return true
}

// Event is a request a Rule picked and what became of it.
type Event struct {
	Method, Path string
	Fault        Fault
	// Status and Body are the server's answer, when the request was forwarded and answered.
	Status int
	Body   []byte
	// Err is why forwarding failed, if it did.
	Err error
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	// URL is the proxy's address, such as http://127.0.0.1:41234; a request to URL+path goes to
	// the target's URL+path.
	URL string

	target    string
	server    *httptest.Server
	transport *http.Transport
	closed    chan struct{}
	closeOnce sync.Once

	mu     sync.Mutex
	rules  []Rule
	counts []int
	events []Event
}

// Start starts a proxy in front of target (a base URL such as http://127.0.0.1:8080) that applies
// rules. The first rule that picks a request decides; a request no rule picks passes through.
func Start(target string, rules ...Rule) *Proxy {
	p := &Proxy{
		target:    strings.TrimRight(target, "/"),
		transport: &http.Transport{DisableCompression: true},
		closed:    make(chan struct{}),
		rules:     rules,
		counts:    make([]int, len(rules)),
	}
	p.server = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.server.URL
	return p
}

// Close stops the proxy, ending stalled requests first.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() { close(p.closed) })
	p.server.CloseClientConnections()
	p.server.Close()
	p.transport.CloseIdleConnections()
}

// Events returns the requests the rules picked so far, in order.
func (p *Proxy) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// pick returns the rule that picks req, if any.
func (p *Proxy) pick(req *http.Request) (Rule, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, r := range p.rules {
		if !r.matches(req) {
			continue
		}
		p.counts[i]++
		if r.Nth == 0 || r.Nth == p.counts[i] {
			return r, true
		}
	}
	return Rule{}, false
}

func (p *Proxy) record(e Event) {
	p.mu.Lock()
	p.events = append(p.events, e)
	p.mu.Unlock()
}

func (p *Proxy) serve(w http.ResponseWriter, req *http.Request) {
	rule, picked := p.pick(req)
	if !picked {
		p.pass(w, req)
		return
	}
	event := Event{Method: req.Method, Path: req.URL.Path, Fault: rule.Fault}
	switch rule.Fault {
	case ResetBeforeForward:
		p.record(event)
		reset(w)
	case Stall:
		p.record(event)
		_, _ = io.Copy(io.Discard, req.Body)
		p.wait(req.Context())
	case Answer:
		p.record(event)
		_, _ = io.Copy(io.Discard, req.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-request-id", "req_faultproxy")
		w.WriteHeader(rule.Status)
		_, _ = io.WriteString(w, rule.Body)
	case LoseAnswer, StallAnswer:
		resp, err := p.forward(req)
		if err != nil {
			event.Err = err
			p.record(event)
			reset(w)
			return
		}
		event.Status, event.Body = resp.StatusCode, resp.body
		p.record(event)
		if rule.Fault == StallAnswer {
			p.wait(req.Context())
		}
		reset(w)
	default:
		p.pass(w, req)
	}
}

// wait returns when the client gives up on the request or the proxy closes.
func (p *Proxy) wait(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-p.closed:
	}
}

// answer is the server's answer, its body read whole.
type answer struct {
	*http.Response
	body []byte
}

// forward sends req to the target and reads the whole answer. It is sent even if the client
// leaves meanwhile, as a server that got the request would go on with it.
func (p *Proxy) forward(req *http.Request) (answer, error) {
	var body io.Reader = req.Body
	if req.ContentLength == 0 {
		body = http.NoBody
	}
	out, err := http.NewRequestWithContext(context.WithoutCancel(req.Context()), req.Method, p.target+req.URL.RequestURI(), body)
	if err != nil {
		return answer{}, err
	}
	out.Header = req.Header.Clone()
	out.ContentLength = req.ContentLength
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{Response: resp, body: b}, nil
}

// pass forwards req and sends the answer back.
func (p *Proxy) pass(w http.ResponseWriter, req *http.Request) {
	resp, err := p.forward(req)
	if err != nil {
		reset(w)
		return
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, bytes.NewReader(resp.body))
}

// reset closes the client's connection with a TCP reset, sending nothing.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not an HTTP/1 connection: abort the answer, as net/http lets a handler do.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
