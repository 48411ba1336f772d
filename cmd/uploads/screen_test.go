package main

import (
	"strings"
	"unicode/utf8"
)

// screen is what a terminal of some columns shows after the bytes written to it: enough of a terminal to see
// where a carriage return, a newline, a backspace and a wrap put the text. Any escape sequence is kept as
// text, so it shows up in a comparison.
type screen struct {
	cols     int
	lines    [][]rune
	row, col int
}

func newScreen(cols int) *screen { return &screen{cols: cols, lines: [][]rune{nil}} }

func (s *screen) write(b []byte) {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		switch r {
		case '\r':
			s.col = 0
		case '\n':
			s.row++
			s.col = 0
			for len(s.lines) <= s.row {
				s.lines = append(s.lines, nil)
			}
		case '\b':
			s.col = max(s.col-1, 0)
		default:
			if s.col == s.cols {
				s.write([]byte("\r\n"))
			}
			line := s.lines[s.row]
			for len(line) <= s.col {
				line = append(line, ' ')
			}
			line[s.col] = r
			s.lines[s.row] = line
			s.col++
		}
	}
}

// text is the screen's lines, without trailing blanks, and without the empty lines at the end.
func (s *screen) text() []string {
	var out []string
	for _, l := range s.lines {
		out = append(out, strings.TrimRight(string(l), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}
