package server_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/uploadkit/uploads/server"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func withLog(buf *syncBuffer) envOption {
	return func(c *server.Config) { c.Logger = slog.New(slog.NewJSONHandler(buf, nil)) }
}

// Each request gets one access log line with its id, and no key ever reaches the log.
func TestAccessLog(t *testing.T) {
	var log syncBuffer
	e := newEnv(t, withLog(&log))
	u := e.createUpload(keyA, 3)
	e.do("POST", "/uploads/"+u.ID+"/cancel", "sk-some-wrong-key-0000000000", "", nil)
	r := e.do("POST", "/uploads/"+u.ID+"/cancel", keyA, "", nil)

	var lines []map[string]any
	for line := range strings.Lines(log.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("%d access log lines, want 3:\n%s", len(lines), log.String())
	}
	last := lines[2]
	if last["request_id"] != r.Header.Get("x-request-id") || last["method"] != "POST" ||
		last["path"] != "/v1/uploads/"+u.ID+"/cancel" || last["status"] != float64(200) {
		t.Errorf("access log line = %v", last)
	}
	if lines[1]["status"] != float64(401) {
		t.Errorf("the refused request is logged as %v", lines[1]["status"])
	}
	for _, secret := range []string{keyA, "sk-some-wrong-key"} {
		if strings.Contains(log.String(), secret) {
			t.Errorf("the log holds a key (%s)", secret)
		}
	}
}

// A failure of the store is a 500 server_error that says nothing about the cause; the cause goes
// to the log, with the request id.
func TestStoreFailureIs500(t *testing.T) {
	var log syncBuffer
	e := newEnv(t, withLog(&log))
	u := e.createUpload(keyA, 3)
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []reply{
		e.doJSON("POST", "/uploads", keyA, map[string]any{"purpose": "batch", "filename": "a", "bytes": 1, "mime_type": "text/jsonl"}),
		e.addPart(keyA, u.ID, []byte("abc")),
		e.do("POST", "/uploads/"+u.ID+"/cancel", keyA, "", nil),
		e.do("GET", "/files/file-x/content", keyA, "", nil),
	} {
		checkEnvelope(t, r, wantEnvelope{500, "server_error", "", "", "The server had an error while processing your request."})
		if bytes.Contains(bytes.ToLower(r.Body), []byte("sql")) || bytes.Contains(r.Body, []byte("closed")) {
			t.Errorf("the 500 leaks its cause: %s", r.Body)
		}
		if id := r.Header.Get("x-request-id"); !strings.Contains(log.String(), `"request failed","request_id":"`+id) {
			t.Errorf("no error logged for request %s:\n%s", id, log.String())
		}
	}
}
