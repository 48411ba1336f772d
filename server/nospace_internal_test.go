package server

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNoSpaceSaysWhatIsFree: the 507 names the free bytes whenever they are known, none included;
// only an unknown amount (-1) gets the general message.
func TestNoSpaceSaysWhatIsFree(t *testing.T) {
	tests := []struct {
		free int64
		want string
	}{
		{0, "has 0 bytes of storage free, below its floor of 100 bytes"},
		{42, "has 42 bytes of storage free"},
		{-1, "out of storage space"},
	}
	for _, tt := range tests {
		e := noSpace(tt.free, 100)
		if e.Status != 507 || !strings.Contains(e.Message, tt.want) {
			t.Errorf("noSpace(%d, 100) = %d %q, want 507 saying %q", tt.free, e.Status, e.Message, tt.want)
		}
	}
}

// TestErrorAfterTheResponseStarted: once the headers are out, an error can no longer be sent. A
// 5xx was logged where it arose, so it is dropped; anything below 500 is logged as a warning here,
// or nobody would hear of it.
func TestErrorAfterTheResponseStarted(t *testing.T) {
	tests := []struct {
		name string
		err  *apiError
		warn bool
	}{
		{"400", badRequest("x", "", "bad"), true},
		{"499", &apiError{Status: 499, Message: "odd"}, true},
		{"500", internalError(), false},
		{"507", noSpace(0, 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			s := &Server{logger: slog.New(slog.NewTextHandler(&logs, nil))}
			rec := httptest.NewRecorder()
			sw := &statusWriter{ResponseWriter: rec, status: 200, wroteHeader: true}
			s.answerError(sw, httptest.NewRequest("GET", "/v1/files/file-abc/content", nil), tt.err)
			if warned := strings.Contains(logs.String(), "error after the response started"); warned != tt.warn {
				t.Errorf("status %d: warned = %v, want %v; log %q", tt.err.Status, warned, tt.warn, logs.String())
			}
			if rec.Body.Len() != 0 {
				t.Errorf("an error envelope was written after the response started: %q", rec.Body.String())
			}
		})
	}
}
