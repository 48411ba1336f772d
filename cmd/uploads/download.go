package main

import (
	"context"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uploadkit/uploads"
)

// downloadView is the progress bar of a download on a terminal: bytes, rate and time left, redrawn in place
// until the download ends. It stops at once when the context is interrupted.
type downloadView struct {
	line  *liveLine
	label string
	total int64 // -1 when the answer did not say
	read  atomic.Int64
	now   func() time.Time
	start time.Time

	mu    sync.Mutex
	meter rateMeter

	stop, stopped chan struct{}
	halted        sync.Once
}

// newDownloadView starts the bar of a download of total bytes (-1: unknown), labelled label.
func newDownloadView(ctx context.Context, cfg viewConfig, label string, total int64) *downloadView {
	v := &downloadView{
		line: newLiveLine(cfg.stderr, cfg.width), label: label, total: total, now: time.Now,
		meter: rateMeter{window: 5 * time.Second}, stop: make(chan struct{}), stopped: make(chan struct{}),
	}
	v.start = v.now()
	v.line.draw(v.text(false))
	go v.redraw()
	context.AfterFunc(ctx, func() { v.finish(false) })
	return v
}

// contentLength is the length a download's answer announced, -1 when it did not.
func contentLength(raw *uploads.Response) int64 {
	if raw.Header == nil {
		return -1
	}
	n, err := strconv.ParseInt(raw.Header.Get("Content-Length"), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// reader counts what is read through it.
func (v *downloadView) reader(r io.Reader) io.Reader { return countingReader{r: r, n: &v.read} }

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (v *downloadView) text(done bool) string {
	read := v.read.Load()
	v.mu.Lock()
	now := v.now()
	v.meter.add(now, read)
	rate := v.meter.rate()
	v.mu.Unlock()
	state := rateAndETA(rate, v.total-read)
	if done {
		state = "done in " + formatDuration(now.Sub(v.start))
	}
	stats := transferStats(read, v.total)
	if state != "" {
		stats += "  " + state
	}
	return withBar(v.line.room(), v.label, read, v.total, stats)
}

func (v *downloadView) redraw() {
	defer close(v.stopped)
	tick := time.NewTicker(redrawEvery)
	defer tick.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-tick.C:
			v.line.draw(v.text(false))
		}
	}
}

// finish stops the bar and ends its line, saying done when the download completed. Only the first call
// does anything; the others wait for it.
func (v *downloadView) finish(done bool) {
	v.halted.Do(func() {
		close(v.stop)
		<-v.stopped
		v.line.end(v.text(done))
	})
}
