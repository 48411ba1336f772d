//go:build unix

package uploads

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// fifoOf is a named pipe, opened for reading, that a goroutine fills with data and closes.
func fifoOf(t *testing.T, data []byte) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "part.fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	// Opening either end blocks until the other is opened too.
	type opened struct {
		f   *os.File
		err error
	}
	writer := make(chan opened, 1)
	go func() {
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		writer <- opened{w, err}
	}()
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	o := <-writer
	if o.err != nil {
		t.Fatal(o.err)
	}
	w := o.f
	feed(t, r, w, data)
	return r
}
