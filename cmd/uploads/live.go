package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// liveLine is one line of a terminal redrawn in place, as a progress bar is. It writes no escape code: a draw
// goes back to the start of the line with a carriage return, blanks what the last draw left (and two columns
// more, for the ^C the terminal echoes after it), goes back again and writes the new text, leaving the cursor
// at its end. So a key echoed by the terminal is drawn over by the next draw, and the text never reaches the
// last column, where a terminal would wrap. Lines written with above appear above it. It is safe for
// concurrent use.
type liveLine struct {
	mu     sync.Mutex
	w      io.Writer
	width  func() int // columns of the terminal
	drawn  int        // columns the last draw took
	text   string     // the text of the last draw
	closed bool
}

// newLiveLine returns a live line on w, a terminal of width columns (80 when width is nil).
func newLiveLine(w io.Writer, width func() int) *liveLine {
	if width == nil {
		width = func() int { return 80 }
	}
	return &liveLine{w: w, width: width}
}

// room is how many columns a draw may take: two fewer than the terminal has, for an echoed ^C.
func (l *liveLine) room() int {
	return max(l.width()-3, 10)
}

// draw replaces the line with text, cut to the terminal's width.
func (l *liveLine) draw(text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.drawLocked(text)
}

func (l *liveLine) drawLocked(text string) {
	text = fit(text, l.room())
	blank := min(l.drawn+2, l.width()-1)
	fmt.Fprintf(l.w, "\r%s\r%s", strings.Repeat(" ", max(blank, 0)), text)
	l.drawn, l.text = utf8.RuneCountInString(text), text
}

// above writes line above the live one, which is drawn again below it.
func (l *liveLine) above(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		fmt.Fprintln(l.w, line)
		return
	}
	text := l.text
	l.drawLocked(line)
	fmt.Fprint(l.w, "\n")
	l.drawn = 0
	l.drawLocked(text)
}

// end draws text a last time and ends the line: nothing is drawn on it afterwards, and what is written next
// starts on a line of its own. Only the first call does anything.
func (l *liveLine) end(text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.drawLocked(text)
	fmt.Fprint(l.w, "\n")
	l.closed = true
}

// fit cuts text to at most n columns, ending it with "..." when it was cut.
func fit(text string, n int) string {
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	r := []rune(text)
	if n <= 3 {
		return string(r[:n])
	}
	return string(r[:n-3]) + "..."
}

// rateMeter measures a transfer's rate over the last few seconds, so that the rate and the time left follow
// the link as it is now rather than averaged since the start.
type rateMeter struct {
	window  time.Duration
	samples []sample
}

type sample struct {
	at    time.Time
	bytes int64
}

// add records that n bytes were done at t.
func (m *rateMeter) add(t time.Time, n int64) {
	m.samples = append(m.samples, sample{t, n})
	// Keep one sample older than the window, to measure the whole window.
	i := 0
	for i+1 < len(m.samples) && t.Sub(m.samples[i+1].at) >= m.window {
		i++
	}
	m.samples = m.samples[i:]
}

// rate is the bytes per second over the window; zero until there are two samples a little apart.
func (m *rateMeter) rate() float64 {
	if len(m.samples) < 2 {
		return 0
	}
	first, last := m.samples[0], m.samples[len(m.samples)-1]
	dt := last.at.Sub(first.at).Seconds()
	if dt < 0.2 {
		return 0
	}
	return float64(last.bytes-first.bytes) / dt
}

// transferStats writes "41%  820.6 MiB / 2.0 GiB" for done bytes of total.
func transferStats(done, total int64) string {
	if total <= 0 {
		return shortBytes(done)
	}
	return fmt.Sprintf("%3d%%  %s / %s", done*100/total, shortBytes(done), shortBytes(total))
}

// rateAndETA writes "52.3 MiB/s  ETA 24s", or less when the rate is not known yet.
func rateAndETA(rate float64, left int64) string {
	if rate <= 0 {
		return ""
	}
	text := shortBytes(int64(rate)) + "/s"
	if left > 0 {
		text += "  ETA " + formatDuration(time.Duration(float64(left)/rate*float64(time.Second)))
	}
	return text
}

// formatDuration writes d for people, to the second: "24s", "3m05s", "1h02m".
func formatDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
}

// barGraphic draws "[#####.....]" of width columns for done of total.
func barGraphic(done, total int64, width int) string {
	inner := width - 2
	filled := 0
	if total > 0 {
		filled = int(int64(inner) * min(done, total) / total)
	}
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", inner-filled) + "]"
}

// withBar puts a bar graphic between name and stats when the line has room for one of at least 10 columns.
func withBar(room int, name string, done, total int64, stats string) string {
	width := min(32, room-utf8.RuneCountInString(name)-utf8.RuneCountInString(stats)-4)
	if total <= 0 || width < 10 {
		return name + "  " + stats
	}
	return name + "  " + barGraphic(done, total, width) + " " + stats
}
