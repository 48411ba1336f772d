package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWatchInterrupts(t *testing.T) {
	signals := make(chan os.Signal, 2)
	var stderr bytes.Buffer
	exited := make(chan int, 1)
	ctx, stop := watchInterrupts(context.Background(), signals, &stderr, false, nil, func(code int) { exited <- code })
	defer stop()

	if interrupted(ctx) {
		t.Fatal("interrupted before any signal")
	}
	signals <- os.Interrupt
	select {
	case <-ctx.Done():
	case <-time.After(waitBound):
		t.Fatal("the first signal did not cancel the context")
	}
	if !interrupted(ctx) {
		t.Errorf("cause = %v, want errInterrupted", context.Cause(ctx))
	}
	select {
	case code := <-exited:
		t.Fatalf("the first signal exited with %d; it should let the command clean up", code)
	default:
	}

	signals <- syscall.SIGTERM
	select {
	case code := <-exited:
		if code != exitInterrupted {
			t.Errorf("second signal exited with %d, want %d", code, exitInterrupted)
		}
	case <-time.After(waitBound):
		t.Fatal("the second signal did not exit")
	}
	if !strings.Contains(stderr.String(), "interrupted again") {
		t.Errorf("stderr = %q, want it to say why it exits at once", stderr.String())
	}
}

func TestWatchInterruptsStopWithoutSignal(t *testing.T) {
	signals := make(chan os.Signal, 1)
	ctx, stop := watchInterrupts(context.Background(), signals, &bytes.Buffer{}, false, nil, func(code int) {
		t.Errorf("exit(%d) without a signal", code)
	})
	stop()
	if interrupted(ctx) {
		t.Errorf("stop made the context look interrupted: cause %v", context.Cause(ctx))
	}
	signals <- os.Interrupt // after stop, nobody acts on it
}
