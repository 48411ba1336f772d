package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/uploadkit/uploads"
)

func TestDescribeError(t *testing.T) {
	notFound := &uploads.APIError{
		Operation: "cancel upload upload_abc", StatusCode: 404, Type: "invalid_request_error",
		Code: "not_found", Param: "upload_id", Message: "No upload found.", RequestID: "req_1",
	}
	bare := &uploads.APIError{Operation: "retrieve file file-x", StatusCode: 502, Message: "<html> bad gateway </html>"}
	empty := &uploads.APIError{StatusCode: 503}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"API error", notFound,
			"cancel upload upload_abc: No upload found. (status 404, type invalid_request_error, code not_found, param upload_id, request id req_1)"},
		{"API error inside the command's context", fmt.Errorf("upload big.jsonl: %w", notFound),
			"upload big.jsonl: cancel upload upload_abc: No upload found. (status 404, type invalid_request_error, code not_found, param upload_id, request id req_1)"},
		{"non-JSON answer", bare, "retrieve file file-x: <html> bad gateway </html> (status 502)"},
		{"no message", empty, "Service Unavailable (status 503)"},
		{"other error", errors.New("open x: permission denied"), "open x: permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describeError(tt.err); got != tt.want {
				t.Errorf("describeError =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestPrintErrorIsOneLine(t *testing.T) {
	var out bytes.Buffer
	printError(&out, errors.New("unknown command \"pt\"\n\nDid you mean this?\n\tput\n"))
	if got, want := out.String(), "error: unknown command \"pt\" Did you mean this? put\n"; got != want {
		t.Errorf("printError wrote %q, want %q", got, want)
	}
}

func TestExitCode(t *testing.T) {
	interruptedCtx, cancel := context.WithCancelCause(context.Background())
	cancel(errInterrupted)
	ctx := context.Background()
	apiErr := &uploads.APIError{StatusCode: 400}
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		ran  bool
		want int
	}{
		{"success", ctx, nil, true, exitOK},
		{"cobra refused the command line", ctx, errors.New(`unknown flag: --x`), false, exitUsage},
		{"the command found a usage error", ctx, usagef("--part-size 0"), true, exitUsage},
		{"the client refused an argument", ctx, fmt.Errorf("x: %w", &uploads.InvalidParamError{Param: "MD5"}), true, exitUsage},
		{"API error", ctx, fmt.Errorf("x: %w", apiErr), true, exitFailure},
		{"I/O error", ctx, errors.New("disk full"), true, exitFailure},
		{"interrupted", interruptedCtx, errInterrupted, true, exitInterrupted},
		{"failed while interrupted", interruptedCtx, context.Canceled, true, exitInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.ctx, tt.err, tt.ran); got != tt.want {
				t.Errorf("exitCode = %d, want %d", got, tt.want)
			}
		})
	}
}
