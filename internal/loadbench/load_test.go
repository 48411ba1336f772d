package loadbench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/pgstore"
	"github.com/uploadkit/uploads/store/pgstore/pgstoretest"
	"github.com/uploadkit/uploads/store/sqlitestore"
)

const apiKey = "sk-load-0123456789abcdef"

// target is what the clients send requests to: one or more servers (replicas, taken in turn).
type target struct {
	name string
	urls []string // each ends in /v1
}

// result is one cell of the tables: an operation at a number of clients on a target.
type result struct {
	target, op    string
	clients, n    int
	elapsed       time.Duration
	p50, p99      time.Duration
	cpuPerRequest time.Duration // the whole process: servers and load generator together
	rssAfter      int64         // bytes
}

// TestLoad runs every operation at 1, 16 and 64 clients on the bare handler, the SQLite store
// and, when the engines are there (scripts/ci-engines.sh), the PostgreSQL + S3 store with one
// and two replicas, and prints the tables of BENCHMARKS.md. It takes minutes, so it runs only
// with UPLOADS_LOAD=1 (make bench-server).
func TestLoad(t *testing.T) {
	if os.Getenv("UPLOADS_LOAD") != "1" {
		t.Skip("set UPLOADS_LOAD=1 (make bench-server) to run the load benchmark")
	}
	targets := []target{floor(t), sqliteTarget(t)}
	if os.Getenv("UPLOADS_TEST_DATABASE_URL") != "" {
		cfg := pgstoretest.Config(t)
		targets = append(targets, pgTarget(t, "postgres, 1 replica", cfg, 1), pgTarget(t, "postgres, 2 replicas", cfg, 2))
	} else {
		t.Log("no PostgreSQL and S3 engines: run under scripts/ci-engines.sh for the networked store")
	}
	var results []result
	for _, op := range []string{"create", "cancel", "complete", "retrieve", "part 1 MiB", "part 64 MiB"} {
		for _, clients := range []int{1, 16, 64} {
			n := 400
			switch op {
			case "part 1 MiB":
				n = 128
			case "part 64 MiB":
				if clients == 64 {
					continue // 4 GiB in flight would measure the disk, not the server
				}
				n = 16
			}
			n = max(n, clients)
			for _, tg := range targets {
				r := run(t, tg, op, clients, n)
				results = append(results, r)
				t.Logf("%-22s %-12s %2d clients: %7.0f req/s  p50 %8v  p99 %8v  CPU/req %8v  RSS %4d MiB",
					r.target, r.op, r.clients, float64(r.n)/r.elapsed.Seconds(), r.p50, r.p99, r.cpuPerRequest, r.rssAfter>>20)
			}
		}
	}
	fmt.Println(tables(results))
}

// floor is a bare handler: it reads the request body and writes an answer of the size of the
// real one, doing none of the work.
func floor(t *testing.T) target {
	answer := bytes.Repeat([]byte("x"), 400)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/uploads"):
			_, _ = w.Write([]byte(`{"id":"upload_floor","object":"upload","bytes":1}`))
		case strings.HasSuffix(r.URL.Path, "/parts"):
			_, _ = w.Write([]byte(`{"id":"part_floor","object":"upload.part"}`))
		case strings.HasSuffix(r.URL.Path, "/complete"):
			_, _ = w.Write([]byte(`{"id":"upload_floor","file":{"id":"file-floor"}}`))
		default:
			_, _ = w.Write(answer)
		}
	})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return target{name: "bare handler (floor)", urls: []string{ts.URL + "/v1"}}
}

func sqliteTarget(t *testing.T) target {
	st, err := sqlitestore.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return target{name: "sqlite", urls: []string{serve(t, st)}}
}

func pgTarget(t *testing.T, name string, cfg pgstore.Config, replicas int) target {
	tg := target{name: name}
	for range replicas {
		tg.urls = append(tg.urls, serve(t, pgstoretest.OpenWith(t, cfg)))
	}
	return tg
}

// serve runs the server on st over loopback and returns its API URL.
func serve(t *testing.T, st store.Store) string {
	srv, err := server.New(server.Config{Store: st, APIKeys: []string{apiKey}, SweepInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL + "/v1"
}

// client is shared by every load goroutine: enough idle connections for 64 clients.
var client = &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 128}, Timeout: 5 * time.Minute}

// request is one prepared request: method, URL and body.
type request struct {
	method, url, ctype string
	body               func() io.Reader
	size               int64
}

// run prepares n requests of op on tg, sends them from clients goroutines, and measures.
func run(t *testing.T, tg target, op string, clients, n int) result {
	reqs := prepare(t, tg, op, n)
	lat := make([]time.Duration, n)
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	for range clients {
		wg.Go(func() {
			for i := range next {
				t0 := time.Now()
				status, body, err := send(reqs[i])
				lat[i] = time.Since(t0)
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("status %d: %.200s", status, body)
				}
				if err != nil {
					mu.Lock()
					failed = fmt.Errorf("%s on %s: %w", op, tg.name, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	if failed != nil {
		t.Fatal(failed)
	}
	slices.Sort(lat)
	return result{target: tg.name, op: op, clients: clients, n: n, elapsed: elapsed,
		p50: lat[n/2], p99: lat[min(n-1, n*99/100)], cpuPerRequest: cpu / time.Duration(n), rssAfter: rss()}
}

// prepare makes the n requests of op, creating (outside the measurement) what they act on.
func prepare(t *testing.T, tg target, op string, n int) []request {
	reqs := make([]request, n)
	url := func(i int) string { return tg.urls[i%len(tg.urls)] }
	createBody := func(size int64) []byte {
		return fmt.Appendf(nil, `{"purpose":"batch","filename":"load.jsonl","bytes":%d,"mime_type":"application/jsonl"}`, size)
	}
	for i := range reqs {
		switch op {
		case "create":
			b := createBody(1)
			reqs[i] = request{method: "POST", url: url(i) + "/uploads", ctype: "application/json", body: func() io.Reader { return bytes.NewReader(b) }, size: int64(len(b))}
		case "cancel":
			id := create(t, url(i), 1)
			reqs[i] = request{method: "POST", url: url(i) + "/uploads/" + id + "/cancel"}
		case "complete":
			id := create(t, url(i), 4)
			part := addPart(t, url(i), id, 4)
			b := fmt.Appendf(nil, `{"part_ids":[%q]}`, part)
			reqs[i] = request{method: "POST", url: url(i) + "/uploads/" + id + "/complete", ctype: "application/json", body: func() io.Reader { return bytes.NewReader(b) }, size: int64(len(b))}
		case "retrieve":
			id := create(t, url(i), 4)
			part := addPart(t, url(i), id, 4)
			fileID := complete(t, url(i), id, part)
			reqs[i] = request{method: "GET", url: url(i) + "/files/" + fileID}
		case "part 1 MiB", "part 64 MiB":
			size := int64(1 << 20)
			if op == "part 64 MiB" {
				size = 64 << 20
			}
			id := create(t, url(i), size)
			ctype, body, total := partForm(size)
			reqs[i] = request{method: "POST", url: url(i) + "/uploads/" + id + "/parts", ctype: ctype, body: body, size: total}
		}
	}
	return reqs
}

// partForm is a multipart form of one part of size bytes: its content type, a function that
// streams a fresh copy of the form, and the form's length.
func partForm(size int64) (string, func() io.Reader, int64) {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	_, _ = mw.CreateFormFile("data", "blob")
	prefix := slices.Clone(head.Bytes())
	head.Reset()
	_ = mw.Close()
	suffix := head.Bytes()
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	body := func() io.Reader {
		return io.MultiReader(bytes.NewReader(prefix), io.LimitReader(repeatReader(chunk), size), bytes.NewReader(suffix))
	}
	return mw.FormDataContentType(), body, int64(len(prefix)) + size + int64(len(suffix))
}

// repeatReader reads chunk over and over.
type repeatReader []byte

func (r repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], r)
	}
	return n, nil
}

// send sends one request and returns its status and body.
func send(r request) (int, []byte, error) {
	var body io.Reader
	if r.body != nil {
		body = r.body()
	}
	req, err := http.NewRequest(r.method, r.url, body)
	if err != nil {
		return 0, nil, err
	}
	req.ContentLength = r.size
	req.Header.Set("Authorization", "Bearer "+apiKey)
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// call sends a request in setup and decodes the 200 answer's id (or file id).
func call(t *testing.T, r request) map[string]any {
	t.Helper()
	status, body, err := send(r)
	if err != nil || status != http.StatusOK {
		t.Fatalf("%s %s: %d %s %v", r.method, r.url, status, body, err)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return out
}

func create(t *testing.T, base string, size int64) string {
	b := fmt.Appendf(nil, `{"purpose":"batch","filename":"load.jsonl","bytes":%d,"mime_type":"application/jsonl"}`, size)
	out := call(t, request{method: "POST", url: base + "/uploads", ctype: "application/json", body: func() io.Reader { return bytes.NewReader(b) }, size: int64(len(b))})
	id, _ := out["id"].(string)
	return id
}

func addPart(t *testing.T, base, uploadID string, size int64) string {
	ctype, body, total := partForm(size)
	out := call(t, request{method: "POST", url: base + "/uploads/" + uploadID + "/parts", ctype: ctype, body: body, size: total})
	id, _ := out["id"].(string)
	return id
}

func complete(t *testing.T, base, uploadID, partID string) string {
	b := fmt.Appendf(nil, `{"part_ids":[%q]}`, partID)
	out := call(t, request{method: "POST", url: base + "/uploads/" + uploadID + "/complete", ctype: "application/json", body: func() io.Reader { return bytes.NewReader(b) }, size: int64(len(b))})
	f, _ := out["file"].(map[string]any)
	id, _ := f["id"].(string)
	return id
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss is the process's resident memory now, from /proc (0 where there is none).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// tables formats the results as Markdown: per operation and clients, each target's rate,
// latencies and CPU per request, and each as a ratio to the floor's in the same run.
func tables(results []result) string {
	var b strings.Builder
	floorOf := map[string]result{}
	for _, r := range results {
		if strings.HasPrefix(r.target, "bare") {
			floorOf[r.op+"/"+strconv.Itoa(r.clients)] = r
		}
	}
	b.WriteString("| operation | clients | target | req/s | × floor | p50 | p99 | × floor p50 | CPU/req | × floor CPU | RSS after |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		f := floorOf[r.op+"/"+strconv.Itoa(r.clients)]
		rate := float64(r.n) / r.elapsed.Seconds()
		frate := float64(f.n) / f.elapsed.Seconds()
		fmt.Fprintf(&b, "| %s | %d | %s | %.3g | %.2f | %v | %v | %.1f | %v | %.1f | %d MiB |\n",
			r.op, r.clients, r.target, rate, rate/frate, r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond),
			float64(r.p50)/float64(f.p50), r.cpuPerRequest.Round(time.Microsecond), float64(r.cpuPerRequest)/float64(f.cpuPerRequest), r.rssAfter>>20)
	}
	return b.String()
}
