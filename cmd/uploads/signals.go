package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// errInterrupted is the cause of the command's context when the user pressed Ctrl-C (or the process got SIGTERM).
var errInterrupted = errors.New("interrupted")

// notifyInterrupts returns a channel that receives SIGINT and SIGTERM from now on.
func notifyInterrupts() chan os.Signal {
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	return signals
}

// watchInterrupts cancels the returned context, with errInterrupted as its cause, on the first signal, so that
// a command can clean up (put cancels its upload on the server) and exit with exitInterrupted. A second signal
// calls exit(exitInterrupted) at once: the user asked twice and is not waiting for the clean-up; the line it
// writes names the upload left pending, if any, and when it expires. On a terminal (tty) the line starts with
// a carriage return, so that it is written over the ^C the terminal echoed. stop stops watching; call it when
// the command has returned.
func watchInterrupts(parent context.Context, signals chan os.Signal, stderr io.Writer, tty bool, left *pending, exit func(int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case <-signals:
			cancel(errInterrupted)
		case <-done:
			return
		}
		select {
		case <-signals:
			start := ""
			if tty {
				start = "\r"
			}
			fmt.Fprintf(stderr, "%serror: interrupted again: %s\n", start, left.message(time.Now()))
			exit(exitInterrupted)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(signals)
		close(done)
		<-finished
		cancel(nil)
	}
}

// pending is the upload a command has under way, named when a second interrupt leaves it behind. It is safe
// for concurrent use; a nil *pending knows of no upload.
type pending struct {
	mu      sync.Mutex
	id      string
	expires time.Time
}

// set records the upload under way and when it expires.
func (p *pending) set(id string, expires time.Time) {
	p.mu.Lock()
	p.id, p.expires = id, expires
	p.mu.Unlock()
}

// clear records that no upload is under way any more.
func (p *pending) clear() { p.set("", time.Time{}) }

// message says what exiting now leaves behind.
func (p *pending) message(now time.Time) string {
	if p == nil {
		return "exiting without waiting for the clean-up"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.id == "" {
		return "exiting without waiting for the clean-up"
	}
	return fmt.Sprintf("%s is left pending until %s (in %s); 'uploads cancel %s' cancels it",
		p.id, p.expires.UTC().Format(time.RFC3339), formatDuration(max(p.expires.Sub(now), 0)), p.id)
}

// interrupted reports whether ctx ended because of an interrupt.
func interrupted(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errInterrupted)
}
