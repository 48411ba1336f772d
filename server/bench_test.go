package server

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/sqlitestore"
)

const benchKey = "sk-bench-0123456789abcdef"

// benchServer is a Server on the real SQLite store in a temporary directory, logging as the
// command does (text, here to io.Discard), with no sweeper.
func benchServer(b *testing.B) (*Server, *sqlitestore.Store) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	s, err := New(Config{Store: st, APIKeys: []string{benchKey}, SweepInterval: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, st
}

// withoutValidation is the handler chain of routes without the validate middleware: what the
// server would cost if it trusted every request. It must stay routes minus validate.
func (s *Server) withoutValidation() http.Handler {
	strict := gen.NewStrictHandlerWithOptions(s, nil, gen.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  s.answerRequestError,
		ResponseErrorHandlerFunc: s.answerError,
	})
	api := http.NewServeMux()
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, invalidURL(r)) })
	gen.HandlerWithOptions(strict, gen.StdHTTPServerOptions{
		BaseURL:          basePath,
		BaseRouter:       api,
		ErrorHandlerFunc: s.answerRequestError,
	})
	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", s.healthz)
	root.Handle(basePath+"/", s.authenticate(api))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, invalidURL(r)) })
	return s.observe(root)
}

// pendingUploads records n pending uploads of benchKey's owner straight in the store.
func pendingUploads(b *testing.B, st store.Store, s *Server, n int, size int64) []string {
	b.Helper()
	d := keyDigest(benchKey)
	who := hex.EncodeToString(d[:])
	now := s.now().Unix()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = newUploadID()
		u := store.Upload{ID: ids[i], Owner: who, Filename: "bench.jsonl", Purpose: "batch", MIMEType: "text/jsonl",
			Bytes: size, CreatedAt: now, ExpiresAt: now + uploadLifetime, Status: store.StatusPending}
		if err := st.CreateUpload(context.Background(), u); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

// benchPost sends one POST with the key and returns the whole answer, failing unless it is a 200.
func benchPost(b *testing.B, hc *http.Client, url, contentType string, body io.Reader, size int64) []byte {
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		b.Fatal(err)
	}
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+benchKey)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("POST %s: %d %s %v", url, resp.StatusCode, out, err)
	}
	return out
}

// BenchmarkServerCancel serves cancel requests, one at a time over loopback from a plain net/http
// client, by the full server (impl=ours), by the same server without spec validation
// (impl=novalidate), and by a bare handler that writes the same answer without looking at the
// request (impl=bare). Each cancel of the real servers cancels a distinct pending upload in the
// SQLite store, recorded before the timer starts.
func BenchmarkServerCancel(b *testing.B) {
	s, st := benchServer(b)
	// The bytes of a real answer, for the bare handler.
	sample := pendingUploads(b, st, s, 1, 8)[0]
	ts := httptest.NewServer(s)
	answer := benchPost(b, ts.Client(), ts.URL+basePath+"/uploads/"+sample+"/cancel", "", nil, 0)
	ts.Close()
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	})

	for _, v := range []struct {
		name    string
		handler http.Handler
	}{{"bare", bare}, {"novalidate", s.withoutValidation()}, {"ours", s}} {
		b.Run("impl="+v.name, func(b *testing.B) {
			ts := httptest.NewServer(v.handler)
			defer ts.Close()
			hc := ts.Client()
			ids := pendingUploads(b, st, s, b.N, 8)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				benchPost(b, hc, ts.URL+basePath+"/uploads/"+ids[i]+"/cancel", "", nil, 0)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkServerAddPart sends 64 MiB parts to the full server, which streams each into the store.
// B/op is what the server allocates per part, plus the small share of the client (a plain
// net/http request whose body is the form around the bytes in memory): far less than the part.
func BenchmarkServerAddPart(b *testing.B) {
	const size = MaxPartBytes
	s, st := benchServer(b)
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	// The form around the part: what the multipart writer writes before the bytes, and after.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if _, err := mw.CreateFormFile("data", "part"); err != nil {
		b.Fatal(err)
	}
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := mw.Close(); err != nil {
		b.Fatal(err)
	}
	tail := bytes.Clone(buf.Bytes())
	length := int64(len(head)) + size + int64(len(tail))

	b.Run(fmt.Sprintf("impl=ours/part=%dMiB", size>>20), func(b *testing.B) {
		ts := httptest.NewServer(s)
		defer ts.Close()
		hc := ts.Client()
		id := pendingUploads(b, st, s, 1, MaxUploadBytes)[0]
		url := ts.URL + basePath + "/uploads/" + id + "/parts"
		b.ReportAllocs()
		b.SetBytes(size)
		b.ResetTimer()
		for range b.N {
			body := io.MultiReader(bytes.NewReader(head), bytes.NewReader(data), bytes.NewReader(tail))
			benchPost(b, hc, url, mw.FormDataContentType(), body, length)
		}
	})
}
