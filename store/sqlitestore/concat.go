package sqlitestore

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// segment is one part file, and the size recorded for it.
type segment struct {
	path string
	size int64
}

// concatReader reads part files one after the other, opening each only when the previous one is
// done, and fails if a file does not hold exactly its recorded size.
type concatReader struct {
	segs []segment
	cur  *os.File
	left int64 // bytes still expected from cur
	err  error // sticky
}

func newConcatReader(segs []segment) *concatReader { return &concatReader{segs: segs} }

func (r *concatReader) Read(p []byte) (int, error) {
	for r.err == nil {
		if r.cur == nil {
			if len(r.segs) == 0 {
				r.err = io.EOF
				break
			}
			f, err := os.Open(r.segs[0].path)
			if err != nil {
				r.err = fmt.Errorf("read part: %w", err)
				break
			}
			r.cur, r.left = f, r.segs[0].size
			r.segs = r.segs[1:]
		}
		if r.left == 0 {
			r.err = r.finishSegment()
			continue
		}
		if len(p) == 0 {
			return 0, nil
		}
		if int64(len(p)) > r.left {
			p = p[:r.left]
		}
		n, err := r.cur.Read(p)
		r.left -= int64(n)
		if errors.Is(err, io.EOF) && r.left > 0 {
			r.err = fmt.Errorf("read part %s: %w", r.cur.Name(), io.ErrUnexpectedEOF)
		} else if err != nil && !errors.Is(err, io.EOF) {
			r.err = fmt.Errorf("read part %s: %w", r.cur.Name(), err)
		}
		if n > 0 {
			return n, nil
		}
	}
	return 0, r.err
}

// finishSegment closes the current part file, after checking it holds nothing past its size.
func (r *concatReader) finishSegment() error {
	var one [1]byte
	n, _ := r.cur.Read(one[:])
	name := r.cur.Name()
	err := r.cur.Close()
	r.cur = nil
	if n > 0 {
		return fmt.Errorf("read part %s: the file is longer than recorded", name)
	}
	if err != nil {
		return fmt.Errorf("close part %s: %w", name, err)
	}
	return nil
}

// Close closes the part file being read, if any.
func (r *concatReader) Close() error {
	if r.err == nil {
		r.err = errors.New("read after close")
	}
	if r.cur == nil {
		return nil
	}
	err := r.cur.Close()
	r.cur = nil
	return err
}
