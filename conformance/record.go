package conformance

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/routers"

	"github.com/uploadkit/uploads/internal/speccheck"
)

// Recorder writes every exchange it sees to a directory, one file per exchange, in the format of
// testdata/exchanges, so that a session against the live service (or any server) can be checked
// against the spec with `make conformance EXCHANGES=DIR` and added to the tests.
//
// As an http.RoundTripper it records what a client sends and receives: plug it into
// uploads.WithHTTPClient, an official SDK's HTTP client, or anything else. Its Handler records
// what a server's clients send it and what the server answers, through the same code.
//
// Secrets never reach the disk: the values of Authorization, OpenAI-Organization, OpenAI-Project,
// cookies and any header or query parameter whose name speaks of a key, token, secret, password,
// session or signature are replaced by REDACTED (an Authorization keeps its scheme: "Bearer
// REDACTED"), as are values anywhere in headers and queries that look like keys (sk-..., JSON Web
// Tokens, ...); any copy of a redacted value elsewhere in the file, such as a key echoed in an
// error message, is replaced too.
//
// A part's bytes and a file's content are never stored: their size and SHA-256 are, so a
// recording of an 8 GiB upload stays small. A part's request is parsed as it streams and stored
// as its form (Message.Form): each field's name, file name and content type, with the part's own
// size and SHA-256 in place of its bytes and short text fields as they are, so the request's shape
// can still be checked; a body that is not a multipart form that parses is stored as the size and
// SHA-256 of the whole (body_digest). Other bodies up to 1 MiB are stored, JSON as
// JSON; larger ones as a digest too.
//
// An exchange is written when its response body has been read to its end or closed (always, for
// the Handler: when the handler returns). Requests for paths that match no operation of the spec
// are passed on unrecorded. Files are named <time>-<operationId>-<status>.json (the status is
// "error" when no response came), with a counter added rather than overwriting a file that
// exists; each appears whole, under its final name. A Recorder is safe for concurrent use.
type Recorder struct {
	dir       string
	next      http.RoundTripper
	validator *Validator
	onError   func(error)
	now       func() time.Time

	mu  sync.Mutex
	err error
}

// RecorderOption configures a Recorder.
type RecorderOption func(*Recorder)

// OnRecordError sets a function called with each failure to record an exchange (a full disk, a
// directory removed); the exchange itself goes on unharmed. Err returns the first such failure
// either way.
func OnRecordError(f func(error)) RecorderOption {
	return func(r *Recorder) { r.onError = f }
}

// NewRecorder returns a Recorder that writes to dir, created if missing, and sends requests on
// through next (http.DefaultTransport when nil; unused by Handler).
func NewRecorder(dir string, next http.RoundTripper, opts ...RecorderOption) (*Recorder, error) {
	if next == nil {
		next = http.DefaultTransport
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("recordings directory: %w", err)
	}
	v, err := New(context.Background())
	if err != nil {
		return nil, err
	}
	r := &Recorder{dir: dir, next: next, validator: v, now: time.Now}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// Err returns the first failure to record an exchange, or nil.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *Recorder) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
	if r.onError != nil {
		r.onError(err)
	}
}

// RoundTrip sends req through the next transport and records the exchange. The request is not
// modified: a copy with a recording body is sent.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	route, _, err := r.validator.Route(req)
	if err != nil {
		return r.next.RoundTrip(req)
	}
	rec := r.begin(req, route, fmt.Sprintf("Recorded from %s://%s", req.URL.Scheme, req.URL.Host))
	out := req
	if req.Body != nil && req.Body != http.NoBody {
		out = req.Clone(req.Context())
		out.Body = rec.captureRequest(req.Body)
		if req.GetBody != nil {
			// A transport that sends the request again records the new copy, not the first.
			out.GetBody = func() (io.ReadCloser, error) {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				return rec.captureRequest(body), nil
			}
		}
	}
	resp, err := r.next.RoundTrip(out)
	if err != nil {
		rec.finish(0, nil, nil, err)
		return resp, err
	}
	header := resp.Header.Clone()
	if resp.Body == nil {
		// net/http never answers without a body, but a hand-made transport may.
		resp.Body = http.NoBody
	}
	body := newCapture(resp.Body, rec.keepOfResponse(resp.StatusCode))
	body.onDone = func() { rec.finish(resp.StatusCode, header, body, nil) }
	resp.Body = body
	if body.rc == http.NoBody {
		body.done()
	}
	return resp, nil
}

// Handler wraps a server so that every exchange it serves for an operation of the spec is recorded:
// what its clients really put on the wire, and what it answers.
func (r *Recorder) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		route, _, err := r.validator.Route(req)
		if err != nil {
			next.ServeHTTP(w, req)
			return
		}
		rec := r.begin(req, route, "Recorded by a server")
		body := rec.captureRequest(req.Body)
		// A copy of the request carries the recording body: net/http looks at the type of the
		// original's body after the handler returns (to know whether the client still waits for
		// 100 Continue), so that one must stay as it is.
		req = req.WithContext(req.Context())
		req.Body = body
		rw := &recordingWriter{ResponseWriter: w, status: http.StatusOK, capture: newCapture(nil, 0), keep: rec.keepOfResponse}
		next.ServeHTTP(rw, req)
		if !rec.streamsRequest && !strings.EqualFold(req.Header.Get("Expect"), "100-continue") {
			// Record all of a small body the handler answered without reading, as net/http itself
			// reads (up to 256 KiB) what a handler left, to reuse the connection. A client waiting
			// for 100 Continue has not sent its body, and is not made to wait for nothing.
			_, _ = io.Copy(io.Discard, io.LimitReader(body, postHandlerRead))
		}
		if !rw.wroteHeader {
			rw.header = w.Header().Clone()
		}
		if rw.hijacked {
			rec.finish(0, nil, nil, errHijacked)
			return
		}
		rw.capture.eof = true // what the handler wrote is the whole body
		rec.finish(rw.status, rw.header, rw.capture, nil)
	})
}

// postHandlerRead is how much of a request body the Handler reads after the handler returned
// without reading it all: net/http's own limit for the same.
const postHandlerRead = 256 << 10

// exchangeRecord is one exchange being recorded.
type exchangeRecord struct {
	r               *Recorder
	operation       string
	method, path    string
	header          map[string]HeaderValue
	origin          string
	streamsRequest  bool
	streamsResponse bool
	secrets         *secrets

	mu      sync.Mutex
	request *capture // the body of the last copy of the request sent
}

func (r *Recorder) begin(req *http.Request, route *routers.Route, origin string) *exchangeRecord {
	s := &secrets{}
	return &exchangeRecord{
		r:               r,
		operation:       route.Operation.OperationID,
		method:          req.Method,
		path:            s.redactPath(req.URL),
		header:          s.redactHeader(req.Header),
		origin:          origin,
		streamsRequest:  speccheck.StreamsRequestBody(route),
		streamsResponse: speccheck.StreamsResponseBody(route),
		secrets:         s,
	}
}

// captureRequest wraps a request body so that what is read from it is recorded.
func (e *exchangeRecord) captureRequest(body io.ReadCloser) *capture {
	keep := int64(maxBufferedBody)
	if e.streamsRequest {
		keep = 0
	}
	c := newCapture(body, keep)
	if e.streamsRequest {
		c.form = newFormCapture(contentType(e.header))
	}
	e.mu.Lock()
	old := e.request
	e.request = c
	e.mu.Unlock()
	if old != nil {
		old.endForm() // a copy sent again replaces it
	}
	return c
}

// keepOfResponse is how many bytes of a response body with that status are kept: none of a
// file's content.
func (e *exchangeRecord) keepOfResponse(status int) int64 {
	if e.streamsResponse && status/100 == 2 {
		return 0
	}
	return maxBufferedBody
}

// finish writes the exchange: the request, and the response (status 0: none came, because of
// sendErr).
func (e *exchangeRecord) finish(status int, header http.Header, body *capture, sendErr error) {
	at := e.r.now().UTC()
	ex := Exchange{
		Description: e.origin + " at " + at.Format(time.RFC3339) + ".",
		Operation:   e.operation,
		Request:     Message{Method: e.method, Path: e.path, Headers: e.header},
	}
	e.mu.Lock()
	reqBody := e.request
	e.mu.Unlock()
	if reqBody != nil {
		reqBody.fill(&ex.Request, contentType(e.header), e.streamsRequest)
	}
	statusName := "error"
	if status != 0 {
		statusName = strconv.Itoa(status)
		resp := &Message{Status: status, Headers: e.secrets.redactHeader(header)}
		body.fill(resp, header.Get("Content-Type"), e.streamsResponse && status/100 == 2)
		ex.Response = resp
	} else {
		ex.Description += " No response came: " + sendErr.Error()
	}
	data, err := json.MarshalIndent(ex, "", "  ")
	if err != nil {
		e.r.fail(fmt.Errorf("record %s: %w", e.operation, err))
		return
	}
	data = e.secrets.scrub(append(data, '\n'))
	name := at.Format("20060102T150405.000Z") + "-" + e.operation + "-" + statusName
	if err := writeNew(e.r.dir, name, data); err != nil {
		e.r.fail(fmt.Errorf("record %s: %w", e.operation, err))
	}
}

func contentType(h map[string]HeaderValue) string {
	if v := h["Content-Type"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// writeNew writes data to dir/name.json, or name-2.json, name-3.json, ... if that exists, never
// replacing a file. The file is written under a temporary name first, so that it appears whole.
func writeNew(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, ".recording-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for i := 1; ; i++ {
		path := filepath.Join(dir, name+".json")
		if i > 1 {
			path = filepath.Join(dir, fmt.Sprintf("%s-%d.json", name, i))
		}
		// A hard link fails rather than replace a file, and shows the file whole or not at all.
		err := os.Link(tmp.Name(), path)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err == nil {
			return nil
		}
		// Where hard links are not supported, create the file exclusively and write it.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
}

// capture passes a body through while hashing all of it and keeping its first keep bytes.
type capture struct {
	rc     io.ReadCloser
	keep   int64
	onDone func()
	once   sync.Once

	mu    sync.Mutex
	hash  hash.Hash
	n     int64
	buf   bytes.Buffer
	over  bool         // more than keep bytes went through: buf is dropped
	eof   bool         // the body was read to its end
	form  *formCapture // parses a multipart form as it goes through; nil for other bodies
	ended bool         // form was told the body ended
}

func newCapture(rc io.ReadCloser, keep int64) *capture {
	return &capture{rc: rc, keep: keep, hash: sha256.New()}
}

func (c *capture) record(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hash.Write(p)
	c.n += int64(len(p))
	if c.form != nil && !c.ended {
		c.form.write(p)
	}
	if c.over {
		return
	}
	if int64(c.buf.Len()+len(p)) > c.keep {
		c.over = true
		c.buf = bytes.Buffer{}
		return
	}
	c.buf.Write(p)
}

func (c *capture) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.record(p[:n])
	if err == io.EOF {
		c.mu.Lock()
		c.eof = true
		c.mu.Unlock()
		c.endForm()
		c.done()
	}
	return n, err
}

func (c *capture) Close() error {
	err := c.rc.Close()
	c.endForm()
	c.done()
	return err
}

// endForm tells the form's parser that no more bytes come, and waits for it to finish.
func (c *capture) endForm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endFormLocked()
}

func (c *capture) endFormLocked() {
	if c.form != nil && !c.ended {
		c.ended = true
		c.form.end(c.eof)
	}
}

func (c *capture) done() {
	if c.onDone != nil {
		c.once.Do(c.onDone)
	}
}

// fill sets the body of m from what went through: the bytes when they were all kept and read to
// the end, else (and always with digestOnly) a digest.
func (c *capture) fill(m *Message, contentType string, digestOnly bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 && c.eof {
		return
	}
	c.endFormLocked()
	b := c.buf.Bytes()
	switch {
	case c.form != nil && c.n > 0:
		if fields, ok := c.form.recorded(); ok {
			m.Form = fields
			return
		}
		m.BodyDigest = &BodyDigest{Bytes: c.n, SHA256: hex.EncodeToString(c.hash.Sum(nil)), Partial: !c.eof}
	case c.over || !c.eof || digestOnly:
		m.BodyDigest = &BodyDigest{Bytes: c.n, SHA256: hex.EncodeToString(c.hash.Sum(nil)), Partial: !c.eof}
	case isJSON(contentType) && json.Valid(b):
		m.Body = json.RawMessage(bytes.Clone(b))
	case utf8.Valid(b):
		text := string(b)
		m.BodyText = &text
	default:
		m.BodyDigest = &BodyDigest{Bytes: c.n, SHA256: hex.EncodeToString(c.hash.Sum(nil))}
	}
}

// recordingWriter passes a response through while recording its status, headers and body.
type recordingWriter struct {
	http.ResponseWriter
	status      int
	header      http.Header
	wroteHeader bool
	hijacked    bool
	capture     *capture
	keep        func(status int) int64
}

// errHijacked is why an exchange whose handler took over the connection has no response.
var errHijacked = errors.New("the handler took over the connection and sent no HTTP response")

// Hijack takes over the connection, for a handler that answers with no HTTP response at all (a
// reset, say): the exchange is then recorded without one.
func (w *recordingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, rw, err
}

func (w *recordingWriter) WriteHeader(status int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		w.status = status
		w.header = w.Header().Clone()
		w.capture.keep = w.keep(status)
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.capture.record(p[:n])
	return n, err
}

// Flush lets streaming handlers flush through the wrapper.
func (w *recordingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
