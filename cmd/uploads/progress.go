package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/uploadkit/uploads"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// progressView shows how a put is going. update is called one call at a time, from the goroutines sending
// parts, so it must be quick; finish is called once, after the upload returned, and waits until the view has
// written everything, so that nothing else written to stderr afterwards interleaves with it.
type progressView interface {
	update(p uploads.Progress)
	finish(ok bool)
}

// progressMode says when put draws a progress bar.
type progressMode string

const (
	progressAuto progressMode = "auto" // when stderr is a terminal
	progressBar  progressMode = "bar"  // always
	progressNone progressMode = "none" // never
)

// newProgressView picks the view for a put of total bytes: a live bar when mode asks for one (or, in auto mode,
// when stderr is a terminal), a line per finished part with verbose, both, or nothing.
func newProgressView(stderr io.Writer, isTTY bool, mode progressMode, verbose bool, filename string, total int64) progressView {
	showBar := mode == progressBar || (mode == progressAuto && isTTY)
	switch {
	case showBar:
		bar := newBarView(stderr, mode == progressBar, filename, total)
		if verbose {
			// Lines written to the bar's container appear above the bar.
			bar.lines = &lineView{w: bar.container}
		}
		return bar
	case verbose:
		return &lineView{w: stderr}
	default:
		return nopView{}
	}
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

// nopView shows nothing: stderr is not a terminal and nobody asked for detail.
type nopView struct{}

func (nopView) update(uploads.Progress) {}
func (nopView) finish(bool)             {}

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

func (v *lineView) finish(bool) {}

// barView is a live progress bar: bytes sent, parts done, rate and time left.
type barView struct {
	container *mpb.Progress
	bar       *mpb.Bar
	lines     *lineView // with verbose: a line per finished part above the bar
	total     int64
	partsDone atomic.Int64
	parts     atomic.Int64
}

func newBarView(w io.Writer, force bool, filename string, total int64) *barView {
	v := &barView{total: total}
	v.container = mpb.New(
		mpb.WithOutput(w),
		mpb.WithWidth(80),
		mpb.ContainerOptional(mpb.ForceTTY(), force),
		mpb.ContainerOptional(mpb.WithAutoRefresh(), force),
	)
	parts := decor.Any(func(decor.Statistics) string {
		if v.parts.Load() == 0 {
			return "creating"
		}
		return fmt.Sprintf("parts %d/%d", v.partsDone.Load(), v.parts.Load())
	}, decor.WCSyncSpace)
	v.bar = v.container.AddBar(total,
		mpb.PrependDecorators(
			decor.Name(filename, decor.WCSyncSpaceR),
			decor.CountersKibiByte("% .1f / % .1f", decor.WCSyncSpace),
		),
		mpb.AppendDecorators(
			parts,
			decor.AverageSpeed(decor.SizeB1024(0), "% .1f", decor.WCSyncSpace),
			decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO, decor.WCSyncSpace), "done"),
		),
	)
	return v
}

func (v *barView) update(p uploads.Progress) {
	v.parts.Store(int64(p.Parts))
	v.partsDone.Store(int64(p.PartsDone))
	// Keep the bar open until the upload is completed: the bytes can all be sent before the API accepts them.
	v.bar.SetCurrent(min(p.Sent, p.Total-1))
	if v.lines != nil {
		v.lines.update(p)
	}
}

// finish completes the bar when the upload succeeded and removes it when it did not, then waits until it is
// drawn for the last time.
func (v *barView) finish(ok bool) {
	if ok {
		v.bar.SetCurrent(v.total)
	} else {
		v.bar.Abort(true)
	}
	v.container.Wait()
}
