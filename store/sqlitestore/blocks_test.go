package sqlitestore

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// writeRecorder records the size of every write.
type writeRecorder struct {
	bytes.Buffer
	sizes []int
	fail  error
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	if w.fail != nil {
		return 0, w.fail
	}
	w.sizes = append(w.sizes, len(p))
	return w.Buffer.Write(p)
}

func TestCopyInBlocks(t *testing.T) {
	const block = 8
	content := strings.Repeat("0123456789", 5) // 50 bytes: 6 blocks and 2 bytes
	broken := errors.New("connection reset")
	tests := []struct {
		name      string
		src       io.Reader
		want      string
		wantSizes []int
		wantErr   error
	}{
		{"one read", strings.NewReader(content), content, []int{8, 8, 8, 8, 8, 8, 2}, nil},
		{"one byte per read", iotest.OneByteReader(strings.NewReader(content)), content, []int{8, 8, 8, 8, 8, 8, 2}, nil},
		{"end with the last bytes", iotest.DataErrReader(strings.NewReader(content)), content, []int{8, 8, 8, 8, 8, 8, 2}, nil},
		{"whole blocks", strings.NewReader(content[:16]), content[:16], []int{8, 8}, nil},
		{"empty", strings.NewReader(""), "", nil, nil},
		{"failure after some bytes", io.MultiReader(strings.NewReader(content[:11]), iotest.ErrReader(broken)), content[:11], []int{8, 3}, broken},
		{"unexpected end is a failure", io.MultiReader(strings.NewReader(content[:3]), iotest.ErrReader(io.ErrUnexpectedEOF)), content[:3], []int{3}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dst writeRecorder
			n, err := copyInBlocks(&dst, tt.src, make([]byte, block))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("copyInBlocks error = %v, want %v", err, tt.wantErr)
			}
			if dst.String() != tt.want || n != int64(len(tt.want)) {
				t.Errorf("copied %d bytes %q, want %q", n, dst.String(), tt.want)
			}
			if !slices.Equal(dst.sizes, tt.wantSizes) {
				t.Errorf("writes of %v bytes, want %v", dst.sizes, tt.wantSizes)
			}
		})
	}

	t.Run("write failure", func(t *testing.T) {
		dst := writeRecorder{fail: broken}
		if _, err := copyInBlocks(&dst, strings.NewReader(content), make([]byte, block)); !errors.Is(err, broken) {
			t.Fatalf("copyInBlocks error = %v, want the write's", err)
		}
	})
}
