package sqlitestore

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// segmentsOf writes each content to a file of its own and returns them as segments whose
// recorded sizes are sizes (the contents' lengths where sizes is nil).
func segmentsOf(t *testing.T, contents []string, sizes []int64) []segment {
	t.Helper()
	dir := t.TempDir()
	segs := make([]segment, len(contents))
	for i, c := range contents {
		path := filepath.Join(dir, "part"+string(rune('a'+i)))
		if err := os.WriteFile(path, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
		segs[i] = segment{path: path, size: int64(len(c))}
		if sizes != nil {
			segs[i].size = sizes[i]
		}
	}
	return segs
}

// TestConcatReaderNeverReturnsNothing reads a file shorter than recorded with Read itself, as a
// caller that does not loop would: the read that finds the end too early must say so, never
// return zero bytes and no error (which io.Reader discourages and some callers take as a stall).
func TestConcatReaderNeverReturnsNothing(t *testing.T) {
	r := newConcatReader(segmentsOf(t, []string{"abc"}, []int64{5}))
	defer r.Close()
	buf := make([]byte, 10)
	n, err := r.Read(buf)
	if n != 3 || err != nil || string(buf[:n]) != "abc" {
		t.Fatalf("first Read = %d %q, %v; want the 3 bytes there are", n, buf[:n], err)
	}
	n, err = r.Read(buf)
	if n != 0 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Read at the early end = %d, %v; want 0 and io.ErrUnexpectedEOF", n, err)
	}

	// A reader that is whole ends with io.EOF, and a zero-length Read is not an end.
	r = newConcatReader(segmentsOf(t, []string{"ab", "", "c"}, nil))
	defer r.Close()
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Errorf("zero-length Read = %d, %v; want 0, nil", n, err)
	}
	var got []byte
	for {
		n, err := r.Read(buf)
		if n == 0 && err == nil {
			t.Fatalf("Read returned nothing and no error after %q", got)
		}
		got = append(got, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
	}
	if string(got) != "abc" {
		t.Errorf("read %q, want %q", got, "abc")
	}
}

// TestConcatReaderClose: Close before any read has nothing to close and succeeds; after Close,
// reading fails instead of opening the next part; Close closes the part file being read.
func TestConcatReaderClose(t *testing.T) {
	r := newConcatReader(segmentsOf(t, []string{"ab", "cd"}, nil))
	if err := r.Close(); err != nil {
		t.Errorf("Close before any read: %v", err)
	}
	if n, err := r.Read(make([]byte, 4)); n != 0 || err == nil {
		t.Errorf("Read after Close = %d, %v; want an error", n, err)
	}

	r = newConcatReader(segmentsOf(t, []string{"ab", "cd"}, nil))
	if n, err := r.Read(make([]byte, 1)); n != 1 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	open := r.cur
	if open == nil {
		t.Fatal("no part file is open half way through the first part")
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := open.Stat(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("the part file being read is still open after Close (Stat: %v)", err)
	}
	if n, err := r.Read(make([]byte, 4)); n != 0 || err == nil {
		t.Errorf("Read after Close = %d, %v; want an error", n, err)
	}
}
