package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uploadkit/uploads/server"
)

func TestMisbehaviourFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantLimit server.RateLimit
		wantRules []server.FaultRule
		wantOps   []string
		check     func(t *testing.T, f server.Faults)
	}{
		{name: "off by default", check: func(t *testing.T, f server.Faults) {
			if f.AllowHeader || f.Seed != 0 || f.SlowDelay != server.DefaultFaultSlowDelay || f.RetryAfter != server.DefaultFaultRetryAfter {
				t.Errorf("faults = %+v", f)
			}
		}},
		{name: "flags",
			args: []string{"-rate-limit-rpm", "60", "-rate-limit-part-bytes", "500MiB", "-faults", "503:5%,reset-after:1%",
				"-faults-seed", "42", "-faults-ops", "addUploadPart, completeUpload", "-faults-header",
				"-faults-slow-delay", "2s", "-faults-retry-after", "250ms"},
			wantLimit: server.RateLimit{RequestsPerMinute: 60, PartBytesPerMinute: 500 << 20},
			wantRules: []server.FaultRule{{Kind: server.FaultUnavailable, Percent: 5}, {Kind: server.FaultResetAfter, Percent: 1}},
			wantOps:   []string{"addUploadPart", "completeUpload"},
			check: func(t *testing.T, f server.Faults) {
				if f.Seed != 42 || !f.AllowHeader || f.SlowDelay != 2*time.Second || f.RetryAfter != 250*time.Millisecond {
					t.Errorf("faults = %+v", f)
				}
			}},
		{name: "environment, and flags over it",
			args: []string{"-faults", "500:10"},
			env: map[string]string{"UPLOADS_RATE_LIMIT_RPM": "10", "UPLOADS_RATE_LIMIT_PART_BYTES": "1000",
				"UPLOADS_FAULTS": "503:5%", "UPLOADS_FAULTS_HEADER": "true", "UPLOADS_FAULTS_OPS": "cancelUpload"},
			wantLimit: server.RateLimit{RequestsPerMinute: 10, PartBytesPerMinute: 1000},
			wantRules: []server.FaultRule{{Kind: server.FaultInternal, Percent: 10}},
			wantOps:   []string{"cancelUpload"},
			check: func(t *testing.T, f server.Faults) {
				if !f.AllowHeader || f.Seed == 0 {
					t.Errorf("faults = %+v; want the header honoured and a seed picked", f)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.rateLimit != tt.wantLimit || !slices.Equal(cfg.faults.Rules, tt.wantRules) || !slices.Equal(cfg.faults.Operations, tt.wantOps) {
				t.Errorf("rate limit %+v, faults %+v", cfg.rateLimit, cfg.faults)
			}
			tt.check(t, cfg.faults)
		})
	}

	for name, bad := range map[string]struct {
		args []string
		env  map[string]string
	}{
		"bad spec":            {args: []string{"-faults", "503"}},
		"bad spec in the env": {env: map[string]string{"UPLOADS_FAULTS": "404:5%"}},
		"bad bool in the env": {env: map[string]string{"UPLOADS_FAULTS_HEADER": "maybe"}},
		"negative rpm":        {args: []string{"-rate-limit-rpm", "-1"}},
		"bad size":            {args: []string{"-rate-limit-part-bytes", "5 parsecs"}},
		"ops without faults":  {args: []string{"-faults-ops", "addUploadPart"}},
		"zero delay":          {args: []string{"-faults", "slow:1%", "-faults-slow-delay", "0s"}},
	} {
		if cfg, err := parseConfig(bad.args, func(k string) string { return bad.env[k] }, io.Discard); err == nil {
			t.Errorf("%s: accepted: %+v", name, cfg)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1000": 1000, "64MiB": 64 << 20, "2 GiB": 2 << 30, "5MB": 5e6, "10KB": 1e4, "7B": 7} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.5MiB", "MiB", "99999999999GiB", "12TB"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}

// The binary serves with the flags: it says what it injects, and injects it into the operations
// named only.
func TestRunWithFaults(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-faults", "503:100%",
			"-faults-ops", "cancelUpload", "-faults-seed", "9", "-rate-limit-rpm", "100"},
			func(string) string { return "" }, pw, io.Discard)
		pw.Close()
		done <- err
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	sc := bufio.NewScanner(pr)
	var base string
	var out strings.Builder
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
		}
		if strings.HasPrefix(sc.Text(), "try:") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if base == "" {
		t.Fatalf("no listening line in %q", out.String())
	}
	for _, want := range []string{"injecting faults 503:100% into cancelUpload (seed 9: repeat with -faults-seed 9)",
		"rate limit per API key and minute: 100 requests"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start-up lines lack %q:\n%s", want, out.String())
		}
	}
	post := func(path, body string) int {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+DevKey)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/uploads", `{"purpose":"batch","filename":"a.jsonl","bytes":4,"mime_type":"text/jsonl"}`); code != http.StatusOK {
		t.Errorf("create: %d", code)
	}
	if code := post("/uploads/upload_abc/cancel", ""); code != http.StatusServiceUnavailable {
		t.Errorf("cancel: %d, want 503", code)
	}
}
