package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestShutdownWaitsForCutOffHandlers: a request still running at the end of the grace period is
// cut off, and shutdown returns only once its handler has cleaned up; a handler that never
// returns holds it no longer than the cleanup grace.
func TestShutdownWaitsForCutOffHandlers(t *testing.T) {
	for _, tc := range []struct {
		name       string
		returns    bool // whether the handler returns once cut off
		wantWaited bool
	}{
		{"handler cleans up", true, true},
		{"handler never returns", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cleaned atomic.Bool
			started := make(chan struct{})
			never := make(chan struct{})
			defer close(never)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(started)
				<-r.Context().Done() // cut off
				if !tc.returns {
					<-never
				}
				time.Sleep(100 * time.Millisecond) // the cleanup's work
				cleaned.Store(true)
			})
			var handlers handlerGroup
			hs := &http.Server{Handler: handlers.wrap(h)}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go func() { _ = hs.Serve(ln) }()
			go func() {
				if resp, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
					resp.Body.Close()
				}
			}()
			<-started
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			cleanup := time.Minute
			if !tc.returns {
				cleanup = 50 * time.Millisecond
			}
			shutdown(hs, &handlers, 10*time.Millisecond, cleanup, logger)
			if got := cleaned.Load(); got != tc.wantWaited {
				t.Errorf("handler had cleaned up when shutdown returned: %v, want %v", got, tc.wantWaited)
			}
		})
	}
}
