package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/uploadkit/uploads"
	"golang.org/x/term"
)

// progressView shows how a put is going. update is called one call at a time, from the goroutines sending
// parts, so it must be quick. interrupt is called when the user pressed Ctrl-C: it stops the bar and says the
// upload is being cancelled. finish is called once, after the upload returned, and writes the last state, so
// that nothing written to stderr afterwards interleaves with it.
type progressView interface {
	update(p uploads.Progress)
	interrupt()
	finish(ok bool)
}

// progressMode says when put draws a progress bar.
type progressMode string

const (
	progressAuto progressMode = "auto" // when stderr is a terminal
	progressBar  progressMode = "bar"  // always
	progressNone progressMode = "none" // never
)

// redrawEvery is how often a live bar is drawn again.
const redrawEvery = 150 * time.Millisecond

// viewConfig is what a put's view needs to know.
type viewConfig struct {
	stderr   io.Writer
	isTTY    bool       // stderr is a terminal
	width    func() int // its columns
	mode     progressMode
	verbose  bool
	filename string
	total    int64
	md5      bool
	pending  *pending // told of the upload while it is under way, for a second Ctrl-C
	keep     bool     // Ctrl-C leaves the upload pending, to be resumed, instead of cancelling it
}

// newProgressView picks the view for a put: a live bar when the mode asks for one (or, in auto mode, when
// stderr is a terminal), with a line per finished part above it with verbose; without a bar, a line per
// finished part with verbose, else only the lines that say an upload is being cancelled.
func newProgressView(cfg viewConfig) progressView {
	v := &putView{cfg: cfg, now: time.Now, meter: rateMeter{window: 5 * time.Second}}
	if cfg.mode == progressBar || (cfg.mode == progressAuto && cfg.isTTY) {
		v.line = newLiveLine(cfg.stderr, cfg.width)
		v.stop, v.stopped = make(chan struct{}), make(chan struct{})
		v.line.draw(v.text())
		go v.redraw()
	}
	if cfg.verbose {
		w := cfg.stderr
		if v.line != nil {
			w = aboveWriter{v.line}
		}
		v.lines = &lineView{w: w}
	}
	return v
}

// canDrawOn reports whether a progress bar can be drawn on f: f is a terminal that knows its width (a terminal
// of zero columns, as some pseudo-terminals start, would get no bar at all).
func canDrawOn(f *os.File) bool {
	fd := int(f.Fd())
	if !term.IsTerminal(fd) {
		return false
	}
	width, _, err := term.GetSize(fd)
	return err == nil && width > 0
}

// terminalWidth returns the columns of the terminal f is, read at each call so that a resized window is
// followed; 80 when it cannot be read.
func terminalWidth(f *os.File) func() int {
	return func() int {
		width, _, err := term.GetSize(int(f.Fd()))
		if err != nil || width <= 0 {
			return 80
		}
		return width
	}
}

// putView is the view of a put: an optional live bar, optional lines per part, and the lines of a cancel.
type putView struct {
	cfg   viewConfig
	line  *liveLine // nil without a bar
	lines *lineView // nil without verbose
	now   func() time.Time

	stop, stopped chan struct{} // stop the redrawing, and see it stopped

	mu      sync.Mutex
	p       uploads.Progress
	meter   rateMeter
	start   time.Time // when the first byte was sent
	allSent time.Time // when every part was accepted: completing since

	interruptOnce sync.Once
}

func (v *putView) update(p uploads.Progress) {
	v.mu.Lock()
	if v.p.UploadID == "" && p.UploadID != "" && v.cfg.pending != nil {
		v.cfg.pending.set(p.UploadID, p.ExpiresAt)
	}
	now := v.now()
	if v.start.IsZero() && p.Sent > 0 {
		v.start = now
	}
	if p.Parts > 0 && p.PartsDone == p.Parts && v.allSent.IsZero() {
		v.allSent = now
	}
	v.meter.add(now, p.Sent)
	v.p = p
	v.mu.Unlock()
	if v.lines != nil {
		v.lines.update(p)
	}
}

// text is the bar's line for the state now.
func (v *putView) text() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.textLocked(false)
}

func (v *putView) textLocked(done bool) string {
	p, name := v.p, v.cfg.filename
	room := 80
	if v.line != nil {
		room = v.line.room()
	}
	if p.UploadID == "" {
		return name + "  creating the upload..."
	}
	var state string
	switch {
	case done:
		state = fmt.Sprintf("parts %d/%d  done", p.PartsDone, p.Parts)
		if !v.start.IsZero() {
			state += " in " + formatDuration(v.now().Sub(v.start))
		}
	case !v.allSent.IsZero():
		phase := "completing"
		if v.cfg.md5 {
			phase = "completing, verifying the MD5"
		}
		state = fmt.Sprintf("parts %d/%d  %s... %s", p.PartsDone, p.Parts, phase, formatDuration(v.now().Sub(v.allSent)))
	default:
		state = fmt.Sprintf("parts %d/%d", p.PartsDone, p.Parts)
		if rest := rateAndETA(v.meter.rate(), p.Total-p.Sent); rest != "" {
			state += "  " + rest
		}
	}
	return withBar(room, name, p.Sent, v.cfg.total, transferStats(p.Sent, v.cfg.total)+"  "+state)
}

// redraw draws the bar again and again until stopped.
func (v *putView) redraw() {
	defer close(v.stopped)
	tick := time.NewTicker(redrawEvery)
	defer tick.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-tick.C:
			v.line.draw(v.text())
		}
	}
}

// halt stops the redrawing and ends the bar with its last state; done says the upload completed.
func (v *putView) halt(done bool) {
	if v.line == nil {
		return
	}
	select {
	case <-v.stop:
	default:
		close(v.stop)
	}
	<-v.stopped
	v.mu.Lock()
	text := v.textLocked(done)
	v.mu.Unlock()
	v.line.end(text)
}

// interrupt stops the bar and says the upload is being cancelled. Only the first call does anything, and
// the others wait until it has.
func (v *putView) interrupt() { v.interruptOnce.Do(v.sayCancelling) }

func (v *putView) sayCancelling() {
	v.mu.Lock()
	id := v.p.UploadID
	v.mu.Unlock()
	v.halt(false)
	switch {
	case id == "":
		fmt.Fprintln(v.cfg.stderr, "stopping before the upload is created (Ctrl-C again to quit)")
	case v.cfg.keep:
		fmt.Fprintf(v.cfg.stderr, "stopping; %s stays pending, to be resumed (Ctrl-C again to quit)\n", id)
	default:
		fmt.Fprintf(v.cfg.stderr, "cancelling %s (Ctrl-C again to quit)\n", id)
	}
}

func (v *putView) finish(ok bool) {
	v.halt(ok)
	if v.cfg.pending != nil {
		v.cfg.pending.clear()
	}
}

// aboveWriter writes each line above a live line.
type aboveWriter struct{ line *liveLine }

func (w aboveWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		w.line.above(line)
	}
	return len(p), nil
}

// lineView writes a line when the upload is created and one per finished part.
type lineView struct {
	w         io.Writer
	uploadID  string
	partsDone int
}

func (v *lineView) update(p uploads.Progress) {
	if v.uploadID == "" && p.UploadID != "" {
		v.uploadID = p.UploadID
		fmt.Fprintf(v.w, "upload %s: sending %s in %d parts\n", p.UploadID, shortBytes(p.Total), p.Parts)
	}
	for v.partsDone < p.PartsDone {
		v.partsDone++
		fmt.Fprintf(v.w, "upload %s: part %d of %d sent (%s of %s)\n", p.UploadID, v.partsDone, p.Parts, shortBytes(p.Sent), shortBytes(p.Total))
	}
}
