package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/uploadkit/uploads"
)

// benchKey is the API key every client sends; the canned server does not check it.
const benchKey = "sk-bench-key"

// uploadID is the upload the benchmarks cancel and add parts to.
const uploadID = "upload_68cb29f703b88191a782f78caf1dfeb2"

// readRecorded returns one of the bodies recorded from the live API, kept in the client's testdata.
func readRecorded(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "client", name))
	if err != nil {
		tb.Fatalf("read recorded body: %v", err)
	}
	return b
}

// cannedServer is a loopback server that answers a cancel with the recorded cancelled upload and
// a part with the recorded part, after reading the whole request body. Every client of a
// benchmark talks to the same one, so the server's share of each number is the same.
func cannedServer(tb testing.TB) *httptest.Server {
	tb.Helper()
	cancel := readRecorded(tb, "cancel-200.json")
	part := readRecorded(tb, "add-part-200.json")
	answer := func(body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/uploads/{upload_id}/cancel", answer(cancel))
	mux.Handle("POST /v1/uploads/{upload_id}/parts", answer(part))
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

// newTransport is a transport of its own for each client, so that no client reuses another's
// connections; it has the settings of http.DefaultTransport, and its connections are closed when
// tb ends.
func newTransport(tb testing.TB) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	tb.Cleanup(t.CloseIdleConnections)
	return t
}

// ourClient is the project's client with its defaults (retries, per-attempt timeout) against srv.
func ourClient(tb testing.TB, srv *httptest.Server) *uploads.Client {
	tb.Helper()
	c, err := uploads.NewClient(
		uploads.WithAPIKey(benchKey),
		uploads.WithBaseURL(srv.URL+"/v1"),
		uploads.WithHTTPClient(&http.Client{Transport: newTransport(tb)}))
	if err != nil {
		tb.Fatalf("new client: %v", err)
	}
	return c
}

// sdkClient is the official SDK with its defaults against srv.
func sdkClient(tb testing.TB, srv *httptest.Server) openai.Client {
	return openai.NewClient(
		option.WithAPIKey(benchKey),
		option.WithBaseURL(srv.URL+"/v1/"),
		option.WithHTTPClient(&http.Client{Transport: newTransport(tb)}))
}

// floorUpload and floorFile are what a hand-written client would decode an Upload into: plain
// structs with the fields of the API and nothing else.
type floorUpload struct {
	ID        string     `json:"id"`
	Object    string     `json:"object"`
	Bytes     int64      `json:"bytes"`
	CreatedAt int64      `json:"created_at"`
	ExpiresAt int64      `json:"expires_at"`
	Filename  string     `json:"filename"`
	Purpose   string     `json:"purpose"`
	Status    string     `json:"status"`
	File      *floorFile `json:"file,omitempty"`
}

type floorFile struct {
	ID            string  `json:"id"`
	Object        string  `json:"object"`
	Bytes         int64   `json:"bytes"`
	CreatedAt     int64   `json:"created_at"`
	ExpiresAt     *int64  `json:"expires_at"`
	Filename      string  `json:"filename"`
	Purpose       string  `json:"purpose"`
	Status        string  `json:"status"`
	StatusDetails *string `json:"status_details"`
}

type floorPart struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	CreatedAt int64  `json:"created_at"`
	UploadID  string `json:"upload_id"`
}

// impl is one contender of a benchmark: the floor, this module ("ours"), or the official SDK.
type impl struct {
	name string
	run  func(b *testing.B)
}

// runImpls runs each contender as a sub-benchmark named impl=NAME, so that benchstat -col /impl
// puts them side by side, the floor first.
func runImpls(b *testing.B, impls []impl) {
	for _, c := range impls {
		b.Run("impl="+c.name, c.run)
	}
}
