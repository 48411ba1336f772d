package server_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/sqlitestore"
)

// faultLog records the faults a server reports through Faults.OnInject.
type faultLog struct {
	mu     sync.Mutex
	faults []server.InjectedFault
}

func (l *faultLog) add(f server.InjectedFault) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.faults = append(l.faults, f)
}

func (l *faultLog) kinds() []server.FaultKind {
	l.mu.Lock()
	defer l.mu.Unlock()
	var k []server.FaultKind
	for _, f := range l.faults {
		k = append(k, f.Kind)
	}
	return k
}

// withFaults turns faults on, reporting each one to log (when not nil).
func withFaults(f server.Faults, log *faultLog) envOption {
	return func(c *server.Config) {
		c.Faults = f
		if log != nil {
			c.Faults.OnInject = log.add
		}
	}
}

// newRawEnv is newEnv without the conformance and header checks around the server: a dropped
// connection has no answer to check.
func newRawEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	return newWrappedEnv(t, nil, opts...)
}

// newWrappedEnv is newRawEnv with wrap, when not nil, around the server.
func newWrappedEnv(t *testing.T, wrap func(http.Handler) http.Handler, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: newClock()}
	e.serve(wrap, opts...)
	return e
}

// ownerOf is the owner the server records for key.
func ownerOf(key string) string {
	d := sha256.Sum256([]byte(key))
	return hex.EncodeToString(d[:])
}

// tryDo sends a request that may get no answer at all; header holds extra request headers.
func (e *env) tryDo(method, path, contentType string, body []byte, header map[string]string) (reply, error) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+keyA)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

func faultHeader(kind server.FaultKind) map[string]string {
	return map[string]string{server.FaultHeader: string(kind)}
}

func TestParseFaults(t *testing.T) {
	good := []struct {
		spec string
		want []server.FaultRule
	}{
		{"", nil},
		{"503:5%", []server.FaultRule{{Kind: server.FaultUnavailable, Percent: 5}}},
		{"503:5%,reset-after:1%", []server.FaultRule{{Kind: server.FaultUnavailable, Percent: 5}, {Kind: server.FaultResetAfter, Percent: 1}}},
		{" 429:0.5 , SLOW:99.5% ,", []server.FaultRule{{Kind: server.FaultRateLimited, Percent: 0.5}, {Kind: server.FaultSlow, Percent: 99.5}}},
		{"500:10,502:10,reset:10", []server.FaultRule{{Kind: server.FaultInternal, Percent: 10}, {Kind: server.FaultBadGateway, Percent: 10}, {Kind: server.FaultReset, Percent: 10}}},
	}
	for _, tt := range good {
		got, err := server.ParseFaults(tt.spec)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseFaults(%q) = %v, %v; want %v", tt.spec, got, err, tt.want)
		}
	}
	for _, spec := range []string{"503", "504:5%", "503:0%", "503:-1%", "503:101%", "503:x%", "503:60%,500:50%", "503:1%,503:2%", "reset:NaN"} {
		if got, err := server.ParseFaults(spec); err == nil {
			t.Errorf("ParseFaults(%q) = %v, want an error", spec, got)
		}
	}
}

// Faults that New refuses: they would be ignored or misread otherwise.
func TestFaultsConfigRefused(t *testing.T) {
	st, err := sqlitestore.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for name, f := range map[string]server.Faults{
		"unknown operation": {Rules: []server.FaultRule{{Kind: server.FaultInternal, Percent: 1}}, Operations: []string{"uploadFile"}},
		"unknown kind":      {Rules: []server.FaultRule{{Kind: "418", Percent: 1}}},
		"over 100%":         {Rules: []server.FaultRule{{Kind: server.FaultInternal, Percent: 70}, {Kind: server.FaultReset, Percent: 31}}},
		"negative delay":    {AllowHeader: true, SlowDelay: -time.Second},
	} {
		if _, err := server.New(server.Config{Store: st, APIKeys: []string{keyA}, Faults: f, SweepInterval: -1}); err == nil {
			t.Errorf("%s: New accepted %+v", name, f)
		}
	}
	if _, err := server.New(server.Config{Store: st, APIKeys: []string{keyA}, SweepInterval: -1,
		RateLimit: server.RateLimit{RequestsPerMinute: -1}}); err == nil {
		t.Error("New accepted a negative rate limit")
	}
}

// Each error fault answers with its status and the live envelope, before the handler runs: the
// store is untouched.
func TestFaultErrorAnswers(t *testing.T) {
	var log faultLog
	e := newRawEnv(t, withFaults(server.Faults{AllowHeader: true, RetryAfter: 2500 * time.Millisecond}, &log))
	u := e.createUpload(keyA, 3)
	for _, tt := range []struct {
		kind server.FaultKind
		want wantEnvelope
	}{
		{server.FaultRateLimited, wantEnvelope{Status: 429, Type: "requests", Code: "rate_limit_exceeded", Message: "Please try again in 2.5s."}},
		{server.FaultInternal, wantEnvelope{Status: 500, Type: "server_error", Message: "The server had an error"}},
		{server.FaultBadGateway, wantEnvelope{Status: 502, Type: "cf_bad_gateway", Message: "Bad gateway."}},
		{server.FaultUnavailable, wantEnvelope{Status: 503, Type: "server_error", Message: "overloaded"}},
	} {
		ct, body := multipartBody(t, field{"data", []byte("abc")})
		r, err := e.tryDo("POST", "/uploads/"+u.ID+"/parts", ct, body, faultHeader(tt.kind))
		if err != nil {
			t.Fatalf("%s: %v", tt.kind, err)
		}
		checkEnvelope(t, r, tt.want)
		if r.Header.Get("x-request-id") == "" || r.Header.Get("openai-version") == "" {
			t.Errorf("%s: the answer lacks the headers of every answer: %v", tt.kind, r.Header)
		}
		ms, s := r.Header.Get("retry-after-ms"), r.Header.Get("retry-after")
		if tt.kind == server.FaultRateLimited && (ms != "2500" || s != "3") {
			t.Errorf("429: retry-after-ms %q, retry-after %q; want 2500 and 3", ms, s)
		}
		if tt.kind != server.FaultRateLimited && (ms != "" || s != "") {
			t.Errorf("%s: retry-after-ms %q, retry-after %q; want none", tt.kind, ms, s)
		}
	}
	if got := e.partFiles(u.ID); got != 0 {
		t.Errorf("%d parts stored after answers that refused them", got)
	}
	want := []server.FaultKind{server.FaultRateLimited, server.FaultInternal, server.FaultBadGateway, server.FaultUnavailable}
	if got := log.kinds(); !slices.Equal(got, want) {
		t.Errorf("faults reported = %v, want %v", got, want)
	}
}

// The fault header is honoured only when the server allows it; "none" turns off the random faults
// for one request; anything else is refused.
func TestFaultHeader(t *testing.T) {
	off := newRawEnv(t)
	create := []byte(`{"purpose":"batch","filename":"a.jsonl","bytes":1,"mime_type":"text/jsonl"}`)
	r, err := off.tryDo("POST", "/uploads", "application/json", create, faultHeader(server.FaultUnavailable))
	if err != nil || r.Status != http.StatusOK {
		t.Errorf("without AllowHeader, the header was acted on: %v %d %s", err, r.Status, r.Body)
	}

	var log faultLog
	on := newRawEnv(t, withFaults(server.Faults{AllowHeader: true,
		Rules: []server.FaultRule{{Kind: server.FaultUnavailable, Percent: 100}}}, &log))
	r, err = on.tryDo("POST", "/uploads", "application/json", create, map[string]string{server.FaultHeader: "none"})
	if err != nil || r.Status != http.StatusOK {
		t.Errorf("none: %v %d %s", err, r.Status, r.Body)
	}
	r, err = on.tryDo("POST", "/uploads", "application/json", create, map[string]string{server.FaultHeader: "418"})
	if err != nil {
		t.Fatal(err)
	}
	checkEnvelope(t, r, wantEnvelope{Status: 400, Type: "invalid_request_error", Message: "X-Uploadkit-Fault"})
	r, err = on.tryDo("POST", "/uploads", "application/json", create, nil)
	if err != nil || r.Status != http.StatusServiceUnavailable {
		t.Errorf("no header under 503:100%%: %v %d %s", err, r.Status, r.Body)
	}
	if got := log.kinds(); !slices.Equal(got, []server.FaultKind{server.FaultUnavailable}) {
		t.Errorf("faults reported = %v", got)
	}
}

// A reset before the handler drops the connection and leaves the upload as it was.
func TestFaultReset(t *testing.T) {
	e := newRawEnv(t, withFaults(server.Faults{AllowHeader: true}, nil))
	u := e.createUpload(keyA, 3)
	ct, body := multipartBody(t, field{"data", []byte("abc")})
	if r, err := e.tryDo("POST", "/uploads/"+u.ID+"/parts", ct, body, faultHeader(server.FaultReset)); err == nil {
		t.Fatalf("add part under reset: answered %d %s", r.Status, r.Body)
	}
	if r, err := e.tryDo("POST", "/uploads/"+u.ID+"/cancel", "", nil, faultHeader(server.FaultReset)); err == nil {
		t.Fatalf("cancel under reset: answered %d %s", r.Status, r.Body)
	}
	got, err := e.store.GetUpload(context.Background(), ownerOf(keyA), u.ID, e.clock.Now().Unix())
	if err != nil || got.Status != store.StatusPending || e.partFiles(u.ID) != 0 {
		t.Errorf("after resets: %+v, %v, %d parts; want the upload pending without parts", got, err, e.partFiles(u.ID))
	}
}

// lifecycle creates an upload of content, adds it in two parts and completes it, sending
// header with the last step named (create, part, complete or cancel, which replaces complete),
// and returns the upload's id and whether that step got an answer.
func lifecycle(e *env, content []byte, last string, header map[string]string) (uploadID string, answered bool) {
	t := e.t
	t.Helper()
	create := []byte(`{"purpose":"fine-tune","filename":"t.jsonl","bytes":` + strconv.Itoa(len(content)) + `,"mime_type":"text/jsonl"}`)
	r, err := e.tryDo("POST", "/uploads", "application/json", create, nil)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	up := decode[gen.Upload](t, r)
	var ids []string
	half := len(content) / 2
	for i, chunk := range [][]byte{content[:half], content[half:]} {
		ct, body := multipartBody(t, field{"data", chunk})
		if i == 1 && last == "part" {
			_, err := e.tryDo("POST", "/uploads/"+up.ID+"/parts", ct, body, header)
			return up.ID, err == nil
		}
		r, err := e.tryDo("POST", "/uploads/"+up.ID+"/parts", ct, body, nil)
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		ids = append(ids, decode[gen.UploadPart](t, r).ID)
	}
	if last == "cancel" {
		_, err = e.tryDo("POST", "/uploads/"+up.ID+"/cancel", "", nil, header)
		return up.ID, err == nil
	}
	sum := md5.Sum(content)
	complete := []byte(`{"part_ids":["` + strings.Join(ids, `","`) + `"],"md5":"` + hex.EncodeToString(sum[:]) + `"}`)
	_, err = e.tryDo("POST", "/uploads/"+up.ID+"/complete", "application/json", complete, header)
	return up.ID, err == nil
}

// A reset after the handler ran loses the answer but not the effect: the store ends exactly as
// after the same calls answered in full.
func TestFaultResetAfterKeepsTheEffect(t *testing.T) {
	content := randomBytes(10_000, 3)
	for _, last := range []string{"part", "complete", "cancel"} {
		t.Run(last, func(t *testing.T) {
			plain := newRawEnv(t)
			wantID, answered := lifecycle(plain, content, last, nil)
			if !answered {
				t.Fatalf("%s without faults got no answer", last)
			}
			want := plain.snapshot(wantID)

			e := newRawEnv(t, withFaults(server.Faults{AllowHeader: true}, nil))
			id, answered := lifecycle(e, content, last, faultHeader(server.FaultResetAfter))
			if answered {
				t.Fatalf("%s under reset-after got an answer", last)
			}
			if got := e.snapshot(id); got != want {
				t.Errorf("store after reset-after at %s:\n got %+v\nwant %+v", last, got, want)
			}
		})
	}
}

// stateSnapshot is what a finished lifecycle left in the store, without ids and times.
type stateSnapshot struct {
	Status    store.Status
	Bytes     int64
	Parts     string // the MD5 of the part files' contents, in name order
	FileBytes int64
	Filename  string
	Content   string // the MD5 of the File's content
}

func (e *env) snapshot(uploadID string) stateSnapshot {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.store.GetUpload(ctx, ownerOf(keyA), uploadID, e.clock.Now().Unix())
	if err != nil {
		e.t.Fatalf("get upload: %v", err)
	}
	s := stateSnapshot{Status: u.Status, Bytes: u.Bytes, Parts: e.partsDigest(uploadID)}
	if u.FileID == "" {
		return s
	}
	f, rc, err := e.store.OpenFile(ctx, ownerOf(keyA), u.FileID, e.clock.Now().Unix())
	if err != nil {
		e.t.Fatalf("open file: %v", err)
	}
	s.FileBytes, s.Filename = f.Bytes, f.Filename
	defer rc.Close()
	h := md5.New()
	if _, err := io.Copy(h, rc); err != nil {
		e.t.Fatalf("read file: %v", err)
	}
	s.Content = hex.EncodeToString(h.Sum(nil))
	return s
}

// partsDigest is the MD5 of the contents of the part files of an upload, sorted, and their count.
func (e *env) partsDigest(uploadID string) string {
	e.t.Helper()
	if err := e.store.Settle(context.Background()); err != nil { // files the remover has yet to remove
		e.t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(e.dir, "parts", uploadID, "*"))
	if err != nil {
		e.t.Fatal(err)
	}
	var sums []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			e.t.Fatalf("read part: %v", err)
		}
		sum := md5.Sum(b)
		sums = append(sums, hex.EncodeToString(sum[:]))
	}
	slices.Sort(sums)
	return strconv.Itoa(len(sums)) + " " + strings.Join(sums, ",")
}

// A slow fault holds the request; a client that gives up meanwhile leaves the store untouched,
// and one that waits gets the usual answer.
func TestFaultSlow(t *testing.T) {
	// The client gives up once the server holds its request, which OnInject tells.
	held := make(chan struct{})
	var once sync.Once
	e := newRawEnv(t, withFaults(server.Faults{AllowHeader: true, SlowDelay: time.Hour,
		OnInject: func(server.InjectedFault) { once.Do(func() { close(held) }) }}, nil))
	u := e.createUpload(keyA, 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", e.URL+"/uploads/"+u.ID+"/cancel", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+keyA)
	req.Header.Set(server.FaultHeader, string(server.FaultSlow))
	go func() { <-held; cancel() }()
	if resp, err := e.http.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a held request was answered: %d", resp.StatusCode)
	}
	if got, err := e.store.GetUpload(context.Background(), ownerOf(keyA), u.ID, e.clock.Now().Unix()); err != nil || got.Status != store.StatusPending {
		t.Errorf("after a slow cancel the client gave up on: %+v, %v; want pending", got, err)
	}

	quick := newRawEnv(t, withFaults(server.Faults{AllowHeader: true, SlowDelay: time.Millisecond}, nil))
	u = quick.createUpload(keyA, 3)
	r, err := quick.tryDo("POST", "/uploads/"+u.ID+"/cancel", "", nil, faultHeader(server.FaultSlow))
	if err != nil || r.Status != http.StatusOK {
		t.Errorf("slow cancel: %v %d %s", err, r.Status, r.Body)
	}
}

// Faults apply to the API only: never to /healthz or /metrics.
func TestFaultsSpareHealthAndMetrics(t *testing.T) {
	var log faultLog
	e := newRawEnv(t, withFaults(server.Faults{AllowHeader: true,
		Rules: []server.FaultRule{{Kind: server.FaultReset, Percent: 100}}}, &log))
	base := strings.TrimSuffix(e.URL, "/v1")
	for _, path := range []string{"/healthz", "/metrics"} {
		req := mustRequest(t, "GET", base+path)
		req.Header.Set(server.FaultHeader, string(server.FaultUnavailable))
		resp, err := e.http.Client().Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			t.Errorf("%s answered 503 under faults", path)
		}
	}
	if _, err := e.tryDo("GET", "/files/file-abc", "", nil, nil); err == nil {
		t.Error("the API was spared by reset:100%")
	}
	if got := log.kinds(); !slices.Equal(got, []server.FaultKind{server.FaultReset}) {
		t.Errorf("faults reported = %v", got)
	}
}

// -faults-ops limits the random faults to the operations named.
func TestFaultOperations(t *testing.T) {
	var log faultLog
	e := newRawEnv(t, withFaults(server.Faults{Operations: []string{"cancelUpload"},
		Rules: []server.FaultRule{{Kind: server.FaultUnavailable, Percent: 100}}}, &log))
	u := e.createUpload(keyA, 3)
	if r := e.addPart(keyA, u.ID, []byte("abc")); r.Status != http.StatusOK {
		t.Errorf("add part: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/uploads/"+u.ID+"/cancel", keyA, "", nil); r.Status != http.StatusServiceUnavailable {
		t.Errorf("cancel: %d %s, want 503", r.Status, r.Body)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.faults) != 1 || log.faults[0].Operation != "cancelUpload" || log.faults[0].Requested {
		t.Errorf("faults reported = %+v", log.faults)
	}
}

// The same seed and the same requests give the same faults, in the share asked for; every fault
// is logged and reported.
func TestFaultSeed(t *testing.T) {
	rules := []server.FaultRule{{Kind: server.FaultInternal, Percent: 20}, {Kind: server.FaultRateLimited, Percent: 10}}
	run := func(seed uint64) (pattern string, logged, reported int) {
		var log faultLog
		var logs syncBuffer
		e := newRawEnv(t, withFaults(server.Faults{Seed: seed, Rules: rules}, &log), withLog(&logs))
		var b strings.Builder
		for range 200 {
			r := e.do("GET", "/files/file-abc", keyA, "", nil)
			b.WriteString(strconv.Itoa(r.Status) + " ")
		}
		out := logs.String()
		// Each fault has its own line and is named on the request's access line, which stays
		// below ERROR: an injected 500 is no failure of the server.
		if strings.Contains(out, `"level":"ERROR"`) {
			t.Errorf("an injected fault was logged as an error:\n%s", out)
		}
		faultLines, accessLines := 0, 0
		for line := range strings.Lines(out) {
			switch {
			case strings.Contains(line, `"msg":"fault injected"`):
				faultLines++
			case strings.Contains(line, `"msg":"request"`) && strings.Contains(line, `"fault":"`):
				accessLines++
			}
		}
		if accessLines != faultLines {
			t.Errorf("%d faults logged, %d access lines name one", faultLines, accessLines)
		}
		return b.String(), faultLines, len(log.kinds())
	}
	p1, logged, reported := run(7)
	p2, _, _ := run(7)
	p3, _, _ := run(8)
	if p1 != p2 {
		t.Errorf("seed 7 gave two sequences:\n%s\n%s", p1, p2)
	}
	if p1 == p3 {
		t.Errorf("seeds 7 and 8 gave the same sequence")
	}
	n500, n429, n404 := strings.Count(p1, "500"), strings.Count(p1, "429"), strings.Count(p1, "404")
	if n500+n429+n404 != 200 || n500 < 20 || n500 > 60 || n429 < 5 || n429 > 35 {
		t.Errorf("200 requests under 500:20%%,429:10%%: %d 500s, %d 429s, %d answered", n500, n429, n404)
	}
	if logged != n500+n429 || reported != n500+n429 {
		t.Errorf("%d faults, %d logged, %d reported", n500+n429, logged, reported)
	}
}

// An early answer (a fault, a rate limit) to a part sent with Expect: 100-continue does not ask
// for the body: the client learns the answer without sending the part.
func TestEarlyAnswerLeavesAWaitingBodyUnsent(t *testing.T) {
	e := newRawEnv(t, withFaults(server.Faults{AllowHeader: true}, nil), withRateLimit(server.RateLimit{PartBytesPerMinute: 1000}))
	u := e.createUpload(keyA, 1<<20)
	// Its Content-Length proves the part larger than the whole part-bytes allowance.
	ct, body := multipartBody(t, field{"data", randomBytes(100_000, 9)})
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	for _, tt := range []struct {
		fault        string
		want         int
		wantContinue bool
	}{
		{string(server.FaultUnavailable), http.StatusServiceUnavailable, false},
		{"none", http.StatusTooManyRequests, false}, // a part that can never fit
	} {
		fault := tt.fault
		var continued bool
		trace := &httptrace.ClientTrace{Got100Continue: func() { continued = true }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
			"POST", e.URL+"/uploads/"+u.ID+"/parts", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+keyA)
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Expect", "100-continue")
		req.Header.Set(server.FaultHeader, fault)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", fault, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want || continued != tt.wantContinue {
			t.Errorf("%s: status %d (want %d), body asked for: %v", fault, resp.StatusCode, tt.want, continued)
		}
	}
}
