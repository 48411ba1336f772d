package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptrace"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    config
		wantErr bool
	}{
		{"defaults", nil, nil, config{addr: "127.0.0.1:8080", dataDir: "./data", storeKind: "sqlite"}, false},
		{"environment", nil,
			map[string]string{"UPLOADS_ADDR": ":9000", "UPLOADS_DATA_DIR": "/srv/up", "UPLOADS_API_KEYS": "k1, k2,,"},
			config{addr: ":9000", dataDir: "/srv/up", keys: []string{"k1", "k2"}, storeKind: "sqlite"}, false},
		{"flags win over the environment",
			[]string{"-addr", "127.0.0.1:1", "-data", "d", "-api-key", "a,b", "-api-key", "c"},
			map[string]string{"UPLOADS_ADDR": ":9000", "UPLOADS_API_KEYS": "k1"},
			config{addr: "127.0.0.1:1", dataDir: "d", keys: []string{"a", "b", "c"}, storeKind: "sqlite"}, false},
		{"networked store from the environment", nil,
			map[string]string{"UPLOADS_STORE": "postgres", "UPLOADS_DATABASE_URL": "postgres://db/uploads", "UPLOADS_S3_BUCKET": "b"},
			config{addr: "127.0.0.1:8080", dataDir: "./data", storeKind: "postgres"}, false},
		{"networked store from flags", []string{"-store", "postgres", "-database-url", "postgres://db/x", "-s3-bucket", "bk"}, nil,
			config{addr: "127.0.0.1:8080", dataDir: "./data", storeKind: "postgres"}, false},
		{"unknown store", []string{"-store", "mysql"}, nil, config{}, true},
		{"empty key flag", []string{"-api-key", " , "}, nil, config{}, true},
		{"stray argument", []string{"serve"}, nil, config{}, true},
		{"unknown flag", []string{"-port", "1"}, nil, config{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got.addr != tt.want.addr || got.dataDir != tt.want.dataDir || !slices.Equal(got.keys, tt.want.keys) || got.storeKind != tt.want.storeKind {
				t.Errorf("config = %+v, want %+v", got, tt.want)
			}
		})
	}
}

var listenLine = regexp.MustCompile(`listening on (http://\S+/v1)`)

// startRun runs the server on a free port with the dev key, and returns its base URL, a function
// that stops it as a signal would, and the result of run.
func startRun(t *testing.T, extraArgs ...string) (base string, stop func(), result <-chan error) {
	base, _, stop, result = startRunOutput(t, extraArgs...)
	return base, stop, result
}

// startRunOutput is startRun that also returns what the server printed up to its listening line.
func startRunOutput(t *testing.T, extraArgs ...string) (base, printed string, stop func(), result <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		args := append([]string{"-addr", "127.0.0.1:0", "-data", t.TempDir()}, extraArgs...)
		err := run(ctx, args, func(string) string { return "" }, pw, io.Discard)
		pw.Close()
		done <- err
	}()
	sc := bufio.NewScanner(pr)
	var out strings.Builder
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("no listening line in %q (run: %v)", out.String(), <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	t.Cleanup(cancel)
	return base, out.String(), cancel, done
}

func TestRunServesAndShutsDown(t *testing.T) {
	base, stop, result := startRun(t)

	req, _ := http.NewRequest("POST", base+"/uploads", strings.NewReader(
		`{"purpose":"batch","filename":"a.jsonl","bytes":4,"mime_type":"text/jsonl"}`))
	req.Header.Set("Authorization", "Bearer "+DevKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var up struct{ ID string }
	err = json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("create with the dev key: %d, %v", resp.StatusCode, err)
	}

	// A part is on its way when the signal comes: it still completes. The client waits for the
	// server's 100 Continue, sent when the handler starts reading the part, so the signal comes
	// while the request is in the handler's hands.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	reading := make(chan struct{})
	trace := &httptrace.ClientTrace{Got100Continue: func() { close(reading) }}
	req, _ = http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
		"POST", base+"/uploads/"+up.ID+"/parts", pr)
	req.Header.Set("Authorization", "Bearer "+DevKey)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Expect", "100-continue")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, ExpectContinueTimeout: time.Minute}}
	answer := make(chan int, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("part in flight: %v", err)
			answer <- 0
			return
		}
		resp.Body.Close()
		answer <- resp.StatusCode
	}()
	select {
	case <-reading:
	case code := <-answer:
		t.Fatalf("the part was answered (%d) before its body was read", code)
	}
	stop()
	w, _ := mw.CreateFormFile("data", "p")
	_, _ = w.Write([]byte("abcd"))
	_ = mw.Close()
	_ = pw.Close()
	if code := <-answer; code != http.StatusOK {
		t.Errorf("part in flight during shutdown: status %d", code)
	}
	if err := <-result; err != nil {
		t.Errorf("run: %v", err)
	}
	if _, err := http.Get(strings.TrimSuffix(base, "/v1") + "/healthz"); err == nil {
		t.Errorf("the server still answers after shutdown")
	}
}

func TestParseConfigNetworkedStore(t *testing.T) {
	env := map[string]string{"UPLOADS_S3_ENDPOINT": "127.0.0.1:9000"}
	cfg, err := parseConfig([]string{"-store", "postgres", "-database-url", "postgres://db/x", "-s3-bucket", "bk"},
		func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.pg == nil || cfg.pg.DatabaseURL != "postgres://db/x" || cfg.pg.S3Bucket != "bk" || cfg.pg.S3Endpoint != "127.0.0.1:9000" {
		t.Fatalf("networked store settings = %+v", cfg.pg)
	}
}

// TestMetricsFlag: by default GET /metrics is served beside the API; -metrics ADDR moves it to its
// own listener (and off the API's), and -metrics off removes it.
func TestMetricsFlag(t *testing.T) {
	status := func(url string) int {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK && !strings.Contains(string(body), "uploads_sweeper_runs_total") {
			t.Errorf("GET %s: no sweeper counter in\n%s", url, body)
		}
		return resp.StatusCode
	}
	t.Run("default", func(t *testing.T) {
		base, _, _ := startRun(t)
		if got := status(strings.TrimSuffix(base, "/v1") + "/metrics"); got != http.StatusOK {
			t.Errorf("GET /metrics: %d, want 200", got)
		}
	})
	t.Run("own address", func(t *testing.T) {
		base, printed, _, _ := startRunOutput(t, "-metrics", "127.0.0.1:0")
		m := regexp.MustCompile(`metrics at (http://\S+/metrics)`).FindStringSubmatch(printed)
		if m == nil {
			t.Fatalf("no metrics line in %q", printed)
		}
		if got := status(m[1]); got != http.StatusOK {
			t.Errorf("GET %s: %d, want 200", m[1], got)
		}
		if got := status(strings.TrimSuffix(base, "/v1") + "/metrics"); got != http.StatusNotFound {
			t.Errorf("GET /metrics on the API's address: %d, want 404", got)
		}
	})
	t.Run("off", func(t *testing.T) {
		base, _, _ := startRun(t, "-metrics", "off")
		if got := status(strings.TrimSuffix(base, "/v1") + "/metrics"); got != http.StatusNotFound {
			t.Errorf("GET /metrics: %d, want 404", got)
		}
	})
}

func TestHelpExitsZero(t *testing.T) {
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"-h"}, func(string) string { return "" }, io.Discard, &stderr)
	if code := exitCode(err); code != 0 || !strings.Contains(stderr.String(), "-addr") {
		t.Errorf("-h: exit %d (err %v), usage %q; want 0 and the flags listed", code, err, stderr.String())
	}
	if code := exitCode(run(t.Context(), []string{"-no-such-flag"}, func(string) string { return "" }, io.Discard, io.Discard)); code != 1 {
		t.Errorf("an unknown flag: exit %d, want 1", code)
	}
}
