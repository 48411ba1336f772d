package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// tempPrefix starts the name of a part file still being written. Open removes any it finds.
const tempPrefix = ".tmp-"

// writeBlockSize is how many bytes of a part are gathered before each write to its file.
const writeBlockSize = 256 << 10

// errTooLarge is returned by writePartFile when data holds more than maxSize bytes.
var errTooLarge = errors.New("too large")

// syncer makes what was written durable: file flushes a file's bytes to the disk, dir a
// directory's entries. The store uses fsync (fsyncer); tests put their own in its place to see
// each sync happen, and in the right order, since killing the process cannot show a missing one
// (the page cache outlives the process).
type syncer struct {
	file func(*os.File) error
	dir  func(path string) error
}

// fsyncer syncs with fsync.
func fsyncer() syncer { return syncer{file: (*os.File).Sync, dir: syncDir} }

// writePartFile streams at most maxSize bytes of data into a new file at path, durably: into a
// temporary file in the same directory, synced, moved to path, and the directory synced. It
// reads at most maxSize+1 bytes; if there are more than maxSize it returns errTooLarge. On any
// error nothing is left at path or in the temporary file. The bytes are written in blocks of
// len(buf).
func writePartFile(ctx context.Context, sync syncer, path string, data io.Reader, maxSize int64, buf []byte) (int64, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, tempPrefix+filepath.Base(path)+"-*")
	if err != nil {
		return 0, fmt.Errorf("create temporary part file: %w", err)
	}
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := copyInBlocks(tmp, io.LimitReader(ctxReader{ctx, data}, maxSize+1), buf)
	if err != nil {
		return 0, fmt.Errorf("write part file: %w", err)
	}
	if n > maxSize {
		return 0, errTooLarge
	}
	if err := sync.file(tmp); err != nil {
		return 0, fmt.Errorf("sync part file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return 0, fmt.Errorf("close part file: %w", err)
	}
	// A hard link, unlike a rename, never replaces a file already at path: a reused part id
	// cannot overwrite the bytes of a recorded part.
	if err := os.Link(tmp.Name(), path); err != nil {
		return 0, fmt.Errorf("move part file into place: %w", err)
	}
	renamed = true
	if err := os.Remove(tmp.Name()); err != nil {
		os.Remove(path)
		return 0, fmt.Errorf("remove temporary part file: %w", err)
	}
	if err := sync.dir(dir); err != nil {
		os.Remove(path)
		return 0, err
	}
	return n, nil
}

// copyInBlocks copies src to dst in writes of len(buf) bytes, but the last. A part arrives through
// its multipart form a few KiB per read; writing each read as it comes would cost a system call
// per few KiB, which profiling showed to be half the time of storing a part.
func copyInBlocks(dst io.Writer, src io.Reader, buf []byte) (int64, error) {
	var written int64
	for {
		n, err := fill(src, buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return written, werr
			}
			written += int64(n)
		}
		if err == io.EOF { // as io.Copy: a reader reports its end with io.EOF itself
			return written, nil
		}
		if err != nil {
			return written, err
		}
	}
}

// fill reads from src until buf is full or src ends or fails.
func fill(src io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := src.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// isTempName reports whether name is a part file still being written.
func isTempName(name string) bool { return strings.HasPrefix(name, tempPrefix) }

// ctxReader reads from r until ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
