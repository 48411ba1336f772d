package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uploadkit/uploads/conformance"
	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store/sqlitestore"
)

// Keys of the test servers. keyA and keyB are two owners.
const (
	keyA = "sk-test-alpha-0123456789abcdef"
	keyB = "sk-test-bravo-0123456789abcdef"
)

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1758145015, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a server on the real SQLite store in a temporary directory, served over loopback, with
// every exchange checked against the spec by the conformance wrapper and for the headers every
// response must carry.
type env struct {
	t     *testing.T
	dir   string
	clock *clock
	store *sqlitestore.Store
	srv   *server.Server
	http  *httptest.Server
	URL   string // base URL of the API, ending in /v1
}

// envOption changes the server's config before it starts.
type envOption func(*server.Config)

func withMaxPart(n int64) envOption { return func(c *server.Config) { c.MaxPartBytes = n } }

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: newClock()}
	e.start(opts...)
	return e
}

// start opens the store in e.dir and serves it behind the conformance and header checks.
func (e *env) start(opts ...envOption) {
	t := e.t
	t.Helper()
	v, err := conformance.New(context.Background())
	if err != nil {
		t.Fatalf("conformance validator: %v", err)
	}
	report := func(err error) { t.Errorf("conformance: %v", err) }
	e.serve(func(srv http.Handler) http.Handler { return checkHeaders(t, v.Handler(srv, report)) }, opts...)
}

// serve opens the store in e.dir and serves it, behind wrap when not nil.
func (e *env) serve(wrap func(http.Handler) http.Handler, opts ...envOption) {
	t := e.t
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), e.dir)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	cfg := server.Config{
		Store:         st,
		APIKeys:       []string{keyA, keyB},
		Now:           e.clock.Now,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		SweepInterval: -1,
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		st.Close()
		t.Fatalf("new server: %v", err)
	}
	e.store, e.srv = st, srv
	var h http.Handler = srv
	if wrap != nil {
		h = wrap(srv)
	}
	e.http = httptest.NewServer(h)
	e.URL = e.http.URL + "/v1"
	t.Cleanup(e.stop)
}

// stop shuts the server and closes the store; it may be called more than once.
func (e *env) stop() {
	if e.http == nil {
		return
	}
	e.http.Close()
	_ = e.srv.Close()
	if err := e.store.Close(); err != nil {
		e.t.Errorf("close store: %v", err)
	}
	e.http = nil
}

// restart closes the server and the store, and opens both again on the same directory.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.start()
}

var requestIDPattern = regexp.MustCompile(`^req_[0-9a-f]{32}$`)

// checkHeaders fails the test when a response lacks a header the live service always sends.
func checkHeaders(t *testing.T, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		h := w.Header()
		where := r.Method + " " + r.URL.Path
		if id := h.Get("x-request-id"); !requestIDPattern.MatchString(id) {
			t.Errorf("%s: x-request-id = %q, want req_ and 32 hex digits", where, id)
		}
		if v := h.Get("openai-version"); v != "2020-10-01" {
			t.Errorf("%s: openai-version = %q", where, v)
		}
		if _, err := strconv.ParseInt(h.Get("openai-processing-ms"), 10, 64); err != nil {
			t.Errorf("%s: openai-processing-ms = %q", where, h.Get("openai-processing-ms"))
		}
		if h.Get("Content-Type") == "" {
			t.Errorf("%s: no Content-Type", where)
		}
	})
}

// client is the generated client of the API, authenticated with key.
func (e *env) client(key string) *gen.ClientWithResponses {
	e.t.Helper()
	c, err := gen.NewClientWithResponses(e.URL, gen.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+key)
		return nil
	}))
	if err != nil {
		e.t.Fatalf("new client: %v", err)
	}
	return c
}

// reply is a raw answer of the server.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// do sends a raw request to path (under /v1) with key (none when empty).
func (e *env) do(method, path, key, contentType string, body io.Reader) reply {
	e.t.Helper()
	req, err := http.NewRequest(method, e.URL+path, body)
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) reply {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// doJSON sends v as a JSON body.
func (e *env) doJSON(method, path, key string, v any) reply {
	e.t.Helper()
	var body io.Reader
	switch v := v.(type) {
	case nil:
	case string:
		body = strings.NewReader(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			e.t.Fatalf("marshal: %v", err)
		}
		body = bytes.NewReader(b)
	}
	return e.do(method, path, key, "application/json", body)
}

// wantEnvelope is what an error answer must be; an empty Param or Code means null.
type wantEnvelope struct {
	Status  int
	Type    string
	Param   string
	Code    string
	Message string // a substring of the message
}

// checkEnvelope fails the test unless r is the error envelope want describes, with all four keys.
func checkEnvelope(t *testing.T, r reply, want wantEnvelope) {
	t.Helper()
	if r.Status != want.Status {
		t.Errorf("status = %d, want %d; body %s", r.Status, want.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var env struct {
		Error map[string]*string `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &env); err != nil {
		t.Fatalf("body is not an error envelope: %v: %s", err, r.Body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := env.Error[k]; !ok {
			t.Errorf("error.%s is missing: %s", k, r.Body)
		}
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	if got := str(env.Error["type"]); got != want.Type {
		t.Errorf("error.type = %q, want %q", got, want.Type)
	}
	if got := str(env.Error["param"]); got != want.Param {
		t.Errorf("error.param = %q, want %q (%s)", got, want.Param, r.Body)
	}
	if got := str(env.Error["code"]); got != want.Code {
		t.Errorf("error.code = %q, want %q (%s)", got, want.Code, r.Body)
	}
	if msg := str(env.Error["message"]); msg == "" || !strings.Contains(msg, want.Message) {
		t.Errorf("error.message = %q, want it to contain %q", msg, want.Message)
	}
}

// createUpload creates an upload of size bytes with key, and fails the test if it cannot.
func (e *env) createUpload(key string, size int64) gen.Upload {
	e.t.Helper()
	r := e.doJSON("POST", "/uploads", key, map[string]any{
		"purpose": "fine-tune", "filename": "train.jsonl", "bytes": size, "mime_type": "text/jsonl",
	})
	if r.Status != http.StatusOK {
		e.t.Fatalf("create upload: %d %s", r.Status, r.Body)
	}
	var u gen.Upload
	if err := json.Unmarshal(r.Body, &u); err != nil {
		e.t.Fatalf("create upload: %v", err)
	}
	return u
}

// multipartBody is a form with the given fields, in order, each a file field.
func multipartBody(t *testing.T, fields ...field) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		w, err := mw.CreateFormFile(f.name, "blob")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

type field struct {
	name string
	data []byte
}

// addPart adds data as a part of upload id with key, returning the raw answer.
func (e *env) addPart(key, uploadID string, data []byte) reply {
	e.t.Helper()
	ct, body := multipartBody(e.t, field{"data", data})
	return e.do("POST", "/uploads/"+uploadID+"/parts", key, ct, bytes.NewReader(body))
}

// mustAddPart adds data as a part and returns the part's id.
func (e *env) mustAddPart(key, uploadID string, data []byte) string {
	e.t.Helper()
	r := e.addPart(key, uploadID, data)
	if r.Status != http.StatusOK {
		e.t.Fatalf("add part: %d %s", r.Status, r.Body)
	}
	var p gen.UploadPart
	if err := json.Unmarshal(r.Body, &p); err != nil {
		e.t.Fatalf("add part: %v", err)
	}
	return p.ID
}

// complete completes upload id with the parts, returning the raw answer.
func (e *env) complete(key, uploadID string, partIDs []string, md5 string) reply {
	e.t.Helper()
	body := map[string]any{"part_ids": partIDs}
	if md5 != "" {
		body["md5"] = md5
	}
	return e.doJSON("POST", "/uploads/"+uploadID+"/complete", key, body)
}

func decode[T any](t *testing.T, r reply) T {
	t.Helper()
	var v T
	if r.Status != http.StatusOK {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, r.Body)
	}
	return v
}

// randomBytes is n bytes that differ from one seed to another.
func randomBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{seed}).Read(b)
	return b
}
