package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store/sqlitestore"
)

// holdEnv serves a server whose slow fault holds for an hour: a hold that ends, ends because of
// what the test did. served receives the path of each request once the server's handler returned.
func holdEnv(t *testing.T) (e *env, held <-chan struct{}, served <-chan string) {
	t.Helper()
	heldc := make(chan struct{}, 16)
	servedc := make(chan string, 16)
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			servedc <- r.URL.Path
		})
	}
	e = newWrappedEnv(t, wrap, withFaults(server.Faults{AllowHeader: true, SlowDelay: time.Hour,
		OnInject: func(server.InjectedFault) { heldc <- struct{}{} }}, nil))
	return e, heldc, servedc
}

// waitServed waits for the held request's handler to return. The guard is far shorter than the
// hold (an hour) and far longer than ending a hold takes: reaching it means the hold ran on.
func waitServed(t *testing.T, served <-chan string, what string) {
	t.Helper()
	select {
	case <-served:
	case <-time.After(time.Minute):
		t.Fatalf("%s: the hold still runs after its client left", what)
	}
}

// A client that gives up on a held request with a body (a create, a part of 2 MiB) ends the hold:
// the handler returns at once, and the store is untouched.
func TestFaultSlowEndsWhenTheClientLeaves(t *testing.T) {
	e, held, served := holdEnv(t)
	u := e.createUpload(keyA, 4<<20)
	<-served
	partType, part := multipartBody(t, field{"data", bytes.Repeat([]byte("x"), 2<<20)})
	for _, c := range []struct {
		name, path, contentType string
		body                    []byte
	}{
		{"create", "/uploads", "application/json", []byte(`{"purpose":"fine-tune","filename":"a.jsonl","bytes":3,"mime_type":"text/jsonl"}`)},
		{"part", "/uploads/" + u.ID + "/parts", partType, part},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, "POST", e.URL+c.path, bytes.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+keyA)
		req.Header.Set("Content-Type", c.contentType)
		req.Header.Set(server.FaultHeader, string(server.FaultSlow))
		go func() { <-held; cancel() }()
		if resp, err := e.http.Client().Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("%s: a held request was answered: %d", c.name, resp.StatusCode)
		}
		waitServed(t, served, c.name)
		cancel()
	}
	m := e.scrape()
	if got := value(m, "uploads_store_uploads", "state", "pending"); got != 1 {
		t.Errorf("%v pending uploads, want the 1 made before the holds", got)
	}
	if got := value(m, "uploads_store_pending_part_bytes"); got != 0 {
		t.Errorf("%v part bytes stored, want none", got)
	}
}

// Shutdown ends the holds: a request held for an hour is served at once when the HTTP server
// shuts down with EndHolds registered (as uploads-server does), and Shutdown returns.
func TestFaultSlowEndsAtShutdown(t *testing.T) {
	st, err := sqlitestore.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	held := make(chan struct{}, 1)
	srv, err := server.New(server.Config{Store: st, APIKeys: []string{keyA}, SweepInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Faults: server.Faults{AllowHeader: true, SlowDelay: time.Hour, OnInject: func(server.InjectedFault) { held <- struct{}{} }}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewUnstartedServer(srv)
	hs.Config.RegisterOnShutdown(srv.EndHolds)
	hs.Start()
	defer hs.Close()

	answered := make(chan reply, 1)
	go func() {
		req, _ := http.NewRequest("POST", hs.URL+"/v1/uploads", strings.NewReader(`{"purpose":"fine-tune","filename":"a.jsonl","bytes":3,"mime_type":"text/jsonl"}`))
		req.Header.Set("Authorization", "Bearer "+keyA)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(server.FaultHeader, string(server.FaultSlow))
		resp, err := hs.Client().Do(req)
		if err != nil {
			answered <- reply{Status: -1, Body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- reply{Status: resp.StatusCode, Body: b}
	}()
	<-held
	if err := hs.Config.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if r := <-answered; r.Status != http.StatusOK || !bytes.Contains(r.Body, []byte(`"object": "upload"`)) && !bytes.Contains(r.Body, []byte(`"object":"upload"`)) {
		t.Errorf("the held create, at shutdown: %d %s; want it served", r.Status, r.Body)
	}
}

// A held part larger than what a hold keeps in memory (1 MiB) is served whole after the hold.
func TestFaultSlowKeepsALargeBody(t *testing.T) {
	e := newRawEnv(t, withFaults(server.Faults{AllowHeader: true, SlowDelay: time.Millisecond}, nil))
	u := e.createUpload(keyA, 3<<20)
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	ct, body := multipartBody(t, field{"data", data})
	r, err := e.tryDo("POST", "/uploads/"+u.ID+"/parts", ct, body, faultHeader(server.FaultSlow))
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("held part: %v %d %s", err, r.Status, r.Body)
	}
	var p struct{ ID string }
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	done := e.complete(keyA, u.ID, []string{p.ID}, "")
	var c struct{ File struct{ ID string } }
	if err := json.Unmarshal(done.Body, &c); err != nil || done.Status != http.StatusOK {
		t.Fatalf("complete: %d %s", done.Status, done.Body)
	}
	got := e.do("GET", "/files/"+c.File.ID+"/content", keyA, "", nil)
	if got.Status != http.StatusOK || !bytes.Equal(got.Body, data) {
		t.Errorf("the held part's bytes came back as %d bytes (status %d), want the %d sent", len(got.Body), got.Status, len(data))
	}
}

// A request whose body is still coming when the holds end is served once its body came: the hold
// waits for it without spinning, and the part is stored whole.
func TestFaultSlowEndedWhileTheBodyComes(t *testing.T) {
	e, held, served := holdEnv(t)
	u := e.createUpload(keyA, 8)
	<-served
	pr, pw := io.Pipe()
	ct, body := multipartBody(t, field{"data", []byte("12345678")})
	req, err := http.NewRequest("POST", e.URL+"/uploads/"+u.ID+"/parts", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+keyA)
	req.Header.Set("Content-Type", ct)
	req.Header.Set(server.FaultHeader, string(server.FaultSlow))
	answered := make(chan int, 1)
	go func() {
		resp, err := e.http.Client().Do(req)
		if err != nil {
			answered <- -1
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	if _, err := pw.Write(body[:10]); err != nil {
		t.Fatal(err)
	}
	<-held
	e.srv.EndHolds()
	if _, err := pw.Write(body[10:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if got := <-answered; got != http.StatusOK {
		t.Fatalf("the part held while its body came: %d, want 200", got)
	}
	if got := e.pendingPartBytes(); got != 8 {
		t.Errorf("%v part bytes stored, want 8", got)
	}
}
