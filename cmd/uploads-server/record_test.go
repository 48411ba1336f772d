package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/uploadkit/uploads/conformance"
)

// TestRecordFlag serves with -record and drives the server with the official SDK: what the SDK
// puts on the wire is recorded (its own headers included), each recording passes the spec check,
// and none holds the key.
func TestRecordFlag(t *testing.T) {
	const key = "sk-server-recording-0123456789abcdef"
	dir := filepath.Join(t.TempDir(), "recordings")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-api-key", key, "--record", dir},
			func(string) string { return "" }, pw, io.Discard)
		pw.Close()
		done <- err
	}()
	var base string
	var out strings.Builder
	sc := bufio.NewScanner(pr)
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

	sdk := openai.NewClient(option.WithBaseURL(base+"/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	up, err := sdk.Uploads.New(ctx, openai.UploadNewParams{
		Bytes: 4, Filename: "a.jsonl", MimeType: "text/jsonl", Purpose: openai.FilePurposeFineTune,
	})
	if err != nil {
		t.Fatalf("create with the SDK: %v", err)
	}
	part, err := sdk.Uploads.Parts.New(ctx, up.ID, openai.UploadPartNewParams{Data: bytes.NewReader([]byte("{}\n\n"))})
	if err != nil {
		t.Fatalf("add a part with the SDK: %v", err)
	}
	if _, err := sdk.Uploads.Complete(ctx, up.ID, openai.UploadCompleteParams{PartIDs: []string{part.ID}}); err != nil {
		t.Fatalf("complete with the SDK: %v", err)
	}
	if _, err := sdk.Uploads.Cancel(ctx, "upload_doesnotexist"); err == nil {
		t.Fatal("the SDK cancelled an upload that does not exist")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}

	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 4 {
		t.Fatalf("%d recordings, want 4 (create, part, complete, the failed cancel): %v", len(files), files)
	}
	v, err := conformance.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(key)) {
			t.Errorf("%s holds the API key", f)
		}
		ex, err := conformance.ReadExchange(f)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Request.Headers["X-Stainless-Lang"] == nil {
			t.Errorf("%s: the SDK's own headers were not recorded: %v", f, ex.Request.Headers)
		}
		failures, err := v.CheckExchangeFile(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, fl := range failures {
			t.Errorf("%s: %s", f, fl)
		}
	}
}
