package replicatest_test

import (
	"bufio"
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
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store/pgstore"
	"github.com/uploadkit/uploads/store/pgstore/pgstoretest"
)

// apiKey is the key both replicas accept.
const apiKey = "sk-test-replicas-0123456789abcdef"

// replica is one running server, reached over loopback.
type replica struct {
	name   string
	apiURL string // ends in /v1
	client *http.Client
	proc   *os.Process // the server process, for replicas started by startProcess
}

// storeConfig is a fresh schema and key prefix on the test engines, shared by the replicas.
func storeConfig(t *testing.T) pgstore.Config {
	t.Helper()
	return pgstoretest.Config(t)
}

// startInProcess serves the API on its own store (its own connection pool and bucket client)
// and its own loopback port.
func startInProcess(t *testing.T, cfg pgstore.Config) *replica {
	t.Helper()
	st := pgstoretest.OpenWith(t, cfg)
	srv, err := server.New(server.Config{
		Store:         st,
		APIKeys:       []string{apiKey},
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		SweepInterval: -1,
	})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &replica{name: hs.URL, apiURL: hs.URL + "/v1", client: hs.Client()}
}

// buildServer builds cmd/uploads-server for t (pgstoretest.Require skips without the engines, or
// fails under CI).
func buildServer(t *testing.T) string {
	t.Helper()
	pgstoretest.Require(t)
	bin := filepath.Join(t.TempDir(), "uploads-server")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, "github.com/uploadkit/uploads/cmd/uploads-server")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build cmd/uploads-server: %v\n%s", err, out)
	}
	return bin
}

// startProcess starts the built server as a process on a free loopback port, configured for the
// store by flags and, for the credentials, by the environment.
func startProcess(t *testing.T, bin string, cfg pgstore.Config) *replica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin,
		"-addr", "127.0.0.1:0",
		"-api-key", apiKey,
		"-store", "postgres",
		"-database-url", cfg.DatabaseURL,
		"-s3-endpoint", cfg.S3Endpoint,
		"-s3-bucket", cfg.S3Bucket,
		"-s3-region", cfg.S3Region,
		"-s3-prefix", cfg.S3Prefix,
		fmt.Sprintf("-s3-use-ssl=%t", cfg.S3UseSSL),
	)
	cmd.Env = append(os.Environ(),
		"UPLOADS_S3_ACCESS_KEY="+cfg.S3AccessKey,
		"UPLOADS_S3_SECRET_KEY="+cfg.S3SecretKey,
	)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("stdout pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("server %d stderr:\n%s", cmd.Process.Pid, stderr.String())
		}
	})

	// The server prints "uploads-server listening on http://ADDR/v1 …" once it listens.
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		_, rest, ok := strings.Cut(lines.Text(), "listening on ")
		if !ok {
			continue
		}
		apiURL, _, _ := strings.Cut(rest, " ")
		go io.Copy(io.Discard, stdout)
		return &replica{name: apiURL, apiURL: apiURL, client: &http.Client{Timeout: time.Minute}, proc: cmd.Process}
	}
	cancel()
	_ = cmd.Wait()
	t.Fatalf("server did not say where it listens; stderr:\n%s", stderr.String())
	return nil
}

// do sends a request with the API key and returns the status and body.
func (r *replica) do(t *testing.T, method, path, contentType string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, r.apiURL+path, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s on replica %s: %v", method, path, r.name, err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readAll(t, resp.Body)
}

// doJSON sends a JSON request and decodes a 200 answer into out; other answers must be the
// error envelope.
func (r *replica) doJSON(t *testing.T, method, path string, in, out any) int {
	t.Helper()
	var body io.Reader
	ctype := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("encode request: %v", err)
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	status, resp := r.do(t, method, path, ctype, body)
	if status == http.StatusOK {
		if out != nil {
			if err := json.Unmarshal(resp, out); err != nil {
				t.Fatalf("%s %s: decode answer: %v\n%s", method, path, err, resp)
			}
		}
		return status
	}
	var envelope struct {
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp, &envelope); err != nil || envelope.Error == nil || envelope.Error.Message == "" {
		t.Errorf("%s %s answered %d without an error envelope: %s", method, path, status, resp)
	}
	return status
}

// createUpload creates an upload of size bytes and returns its id.
func (r *replica) createUpload(t *testing.T, size int) string {
	t.Helper()
	var u struct {
		ID string `json:"id"`
	}
	in := map[string]any{"filename": "data.jsonl", "purpose": "batch", "bytes": size, "mime_type": "application/jsonl"}
	if st := r.doJSON(t, http.MethodPost, "/uploads", in, &u); st != http.StatusOK {
		t.Fatalf("create upload on replica %s: status %d", r.name, st)
	}
	return u.ID
}

// addPart streams data as a multipart/form-data part and returns the part id.
func (r *replica) addPart(t *testing.T, uploadID string, data []byte) string {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("data", "blob")
		if err == nil {
			_, err = fw.Write(data)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	status, body := r.do(t, http.MethodPost, "/uploads/"+uploadID+"/parts", mw.FormDataContentType(), pr)
	if status != http.StatusOK {
		t.Errorf("add part on replica %s: status %d: %s", r.name, status, body)
		return ""
	}
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.ID == "" {
		t.Errorf("add part on replica %s: answer %s: %v", r.name, body, err)
	}
	return p.ID
}

// complete completes an upload and returns the status and, on 200, the file id.
func (r *replica) complete(t *testing.T, uploadID string, partIDs []string, md5Hex string) (int, string) {
	t.Helper()
	in := map[string]any{"part_ids": partIDs}
	if md5Hex != "" {
		in["md5"] = md5Hex
	}
	var u struct {
		Status string `json:"status"`
		File   struct {
			ID string `json:"id"`
		} `json:"file"`
	}
	status := r.doJSON(t, http.MethodPost, "/uploads/"+uploadID+"/complete", in, &u)
	if status == http.StatusOK && (u.Status != "completed" || u.File.ID == "") {
		t.Errorf("complete on replica %s answered 200 with status %q, file %q", r.name, u.Status, u.File.ID)
	}
	return status, u.File.ID
}

// cancel cancels an upload and returns the status.
func (r *replica) cancel(t *testing.T, uploadID string) int {
	t.Helper()
	var u struct {
		Status string `json:"status"`
	}
	status := r.doJSON(t, http.MethodPost, "/uploads/"+uploadID+"/cancel", nil, &u)
	if status == http.StatusOK && u.Status != "cancelled" {
		t.Errorf("cancel on replica %s answered 200 with status %q", r.name, u.Status)
	}
	return status
}

// uploadStatus is the status of a finished (completed or cancelled) upload as this replica
// reports it. The API has no route to read an upload, so it asks to cancel it: the refusal names
// the status. An upload still pending is cancelled by this, and reads as "pending".
func (r *replica) uploadStatus(t *testing.T, uploadID string) string {
	t.Helper()
	status, body := r.do(t, http.MethodPost, "/uploads/"+uploadID+"/cancel", "", nil)
	if status == http.StatusOK {
		return "pending"
	}
	for _, st := range []string{"completed", "cancelled", "expired"} {
		if bytes.Contains(body, []byte("it is already "+st)) || (st == "expired" && bytes.Contains(body, []byte("expired"))) {
			return st
		}
	}
	t.Errorf("cancel on replica %s answered %d: %s; want a refusal naming the status", r.name, status, body)
	return ""
}

// download returns the content of a file.
func (r *replica) download(t *testing.T, fileID string) []byte {
	t.Helper()
	status, body := r.do(t, http.MethodGet, "/files/"+fileID+"/content", "", nil)
	if status != http.StatusOK {
		t.Fatalf("download file %s from replica %s: status %d: %s", fileID, r.name, status, body)
	}
	return body
}
