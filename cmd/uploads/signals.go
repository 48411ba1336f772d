package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
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
// calls exit(exitInterrupted) at once: the user asked twice and is not waiting for the clean-up. stop stops
// watching; call it when the command has returned.
func watchInterrupts(parent context.Context, signals chan os.Signal, stderr io.Writer, exit func(int)) (ctx context.Context, stop func()) {
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
			fmt.Fprintln(stderr, "error: interrupted again: exiting without waiting for the clean-up")
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

// interrupted reports whether ctx ended because of an interrupt.
func interrupted(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errInterrupted)
}
