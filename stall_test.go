package uploads

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowLink is a client connection that writes at most chunk bytes at a time and waits pause
// before each write: a slow but steady uplink. After limit bytes (when limit > 0) it stops
// writing altogether, as a link that died without a word does, until the connection is closed.
type slowLink struct {
	net.Conn
	chunk   int
	pause   time.Duration
	limit   int
	written int
	closed  chan struct{}
	once    sync.Once
}

func (c *slowLink) Write(p []byte) (int, error) {
	sent := 0
	for len(p) > 0 {
		if c.limit > 0 && c.written >= c.limit {
			<-c.closed
			return sent, net.ErrClosed
		}
		n := min(len(p), c.chunk)
		if c.limit > 0 {
			n = min(n, c.limit-c.written)
		}
		select {
		case <-time.After(c.pause):
		case <-c.closed:
			return sent, net.ErrClosed
		}
		m, err := c.Conn.Write(p[:n])
		sent += m
		c.written += m
		if err != nil {
			return sent, err
		}
		p = p[n:]
	}
	return sent, nil
}

func (c *slowLink) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// slowClient returns an HTTP client checked against the spec whose i-th connection (from 0) has
// the chunk, pause and limit link(i) gives.
func slowClient(t *testing.T, link func(i int) slowLink) *http.Client {
	t.Helper()
	var (
		d  net.Dialer
		mu sync.Mutex
		n  int
	)
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			l := link(n)
			n++
			mu.Unlock()
			return &slowLink{Conn: conn, chunk: l.chunk, pause: l.pause, limit: l.limit, closed: make(chan struct{})}, nil
		},
	}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: validator(t).RoundTripper(transport, specReport(t))}
}

// steady is a link that sends chunk bytes every pause; dead one that sends limit bytes, then
// nothing.
func steady(chunk int, pause time.Duration) func(int) slowLink {
	return func(int) slowLink { return slowLink{chunk: chunk, pause: pause} }
}

// drain reads a request's body to its end or its failure, and answers with a part.
func drain(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		writeJSON(w, http.StatusOK, fixture(t, "add-part-200.json"))
	}
}

func TestSlowSteadyPartIsNotCutOff(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 48<<10) // 768 KiB
	var (
		mu  sync.Mutex
		got [][]byte
	)
	// A part cut off on its way makes partServer fail the test.
	f := newFakeAPI(t, partServer(t, func(_ *http.Request, data []byte, _ string) {
		mu.Lock()
		got = append(got, data)
		mu.Unlock()
	}))
	// 4 KiB every 10 ms: the part takes two seconds or more to send, twice the attempt timeout. A retry
	// (an answer slower than the timeout on a loaded machine) sends the whole part again.
	c, _ := newTestClient(t, f, nil, WithHTTPClient(slowClient(t, steady(4<<10, 10*time.Millisecond))),
		WithTimeout(time.Second), WithStallTimeout(30*time.Second), WithMaxRetries(2))
	part, err := c.AddPart(t.Context(), "upload_abc", bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("AddPart on a slow but steady link: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if part.ID == "" || len(got) == 0 {
		t.Fatalf("part %q after %d attempts", part.ID, len(got))
	}
	for i, data := range got {
		if !bytes.Equal(data, payload) {
			t.Errorf("attempt %d carried %d bytes, want all %d", i+1, len(data), len(payload))
		}
	}
}

func TestStalledPartIsCutOff(t *testing.T) {
	f := newFakeAPI(t, drain(t))
	// The link carries 64 KiB and then nothing; nothing about the attempt's wall-clock time is
	// limited (WithTimeout(0)), so only the stall can end it.
	dead := func(int) slowLink { return slowLink{chunk: 32 << 10, limit: 64 << 10} }
	c, _ := newTestClient(t, f, nil, WithHTTPClient(slowClient(t, dead)),
		WithTimeout(0), WithStallTimeout(300*time.Millisecond), WithMaxRetries(0))
	// A safety valve against a hung test, not a measure of speed.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	_, err := c.AddPart(ctx, "upload_abc", bytes.NewReader(bytes.Repeat([]byte("x"), 1<<20)))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "stalled: no byte moved for 300ms") {
		t.Fatalf("AddPart on a dead link: got %v, want a stall", err)
	}
}

func TestStalledPartIsRetried(t *testing.T) {
	f := newFakeAPI(t, drain(t))
	// The first connection dies after 64 KiB; the retry gets a new one, which works.
	deadFirst := func(i int) slowLink {
		if i == 0 {
			return slowLink{chunk: 32 << 10, limit: 64 << 10}
		}
		return slowLink{chunk: 32 << 10}
	}
	// The stall timeout leaves the working link room for a loaded machine's pauses.
	c, rec := newTestClient(t, f, nil, WithHTTPClient(slowClient(t, deadFirst)),
		WithTimeout(0), WithStallTimeout(2*time.Second), WithMaxRetries(1))
	if _, err := c.AddPart(t.Context(), "upload_abc", bytes.NewReader(bytes.Repeat([]byte("z"), 1<<20))); err != nil {
		t.Fatalf("AddPart: %v", err)
	}
	if n := len(f.requests()); n != 2 || len(rec.recorded()) != 1 {
		t.Errorf("%d attempts, %d waits; want the stalled one retried once", n, len(rec.recorded()))
	}
}

func TestStalledDownloadFailsItsRead(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("first bytes"))
		w.(http.Flusher).Flush()
		select { // and then nothing more
		case <-release:
		case <-r.Context().Done():
		}
	})
	c, _ := newTestClient(t, f, nil, WithTimeout(0), WithStallTimeout(300*time.Millisecond))
	body, err := c.DownloadFile(t.Context(), "file-abc")
	if err != nil {
		t.Fatalf("DownloadFile: %v", err)
	}
	defer body.Close()
	got, err := io.ReadAll(body)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "stalled") || string(got) != "first bytes" {
		t.Fatalf("read a stalled download: %q, %v; want the first bytes, then a stall", got, err)
	}
}

func TestSlowDownloadIsNotCutOff(t *testing.T) {
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		for range 20 {
			w.Write([]byte("0123456789"))
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
	})
	// A second of steady bytes, three times the attempt timeout, which covers only the headers.
	c, _ := newTestClient(t, f, nil, WithTimeout(300*time.Millisecond), WithStallTimeout(30*time.Second))
	body, err := c.DownloadFile(t.Context(), "file-abc")
	if err != nil {
		t.Fatalf("DownloadFile: %v", err)
	}
	defer body.Close()
	got, err := io.ReadAll(body)
	if err != nil || len(got) != 200 {
		t.Fatalf("read a slow download: %d bytes, %v; want 200 and no error", len(got), err)
	}
}
