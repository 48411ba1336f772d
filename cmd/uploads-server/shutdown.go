package main

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// cleanupGrace is how long, after the requests still running at the end of shutdownGrace were
// cut off, the server waits for their handlers to return: a handler whose request is cut off
// cleans up after it (the networked store aborts the S3 multipart upload of a part it was
// writing and deletes its object), and exiting before that would leave the work to the sweeper.
const cleanupGrace = 15 * time.Second

// handlerGroup counts the handlers running, so that shutdown can wait for those it cut off.
type handlerGroup struct {
	wg sync.WaitGroup
}

// wrap returns h counted in g.
func (g *handlerGroup) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.wg.Add(1)
		defer g.wg.Done()
		h.ServeHTTP(w, r)
	})
}

// wait waits for every handler to return, or for d; it reports whether they all returned.
func (g *handlerGroup) wait(d time.Duration) bool {
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// shutdown stops hs: it stops accepting connections and lets requests in flight finish for up to
// grace; then it cuts off those still running (their contexts end) and waits up to cleanup for
// their handlers to return.
func shutdown(hs *http.Server, handlers *handlerGroup, grace, cleanup time.Duration, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := hs.Shutdown(ctx)
	if err == nil {
		return
	}
	// Requests still running past the grace period are cut off so the store can close.
	_ = hs.Close()
	logger.Warn("requests still running were cut off; waiting for them to clean up",
		slog.String("error", err.Error()), slog.Duration("cleanup_grace", cleanup))
	if !handlers.wait(cleanup) {
		logger.Warn("requests cut off were still cleaning up at the end of the cleanup grace; the sweeper finishes their work")
	}
}
