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

// errTooLarge is returned by writePartFile when data holds more than maxSize bytes.
var errTooLarge = errors.New("too large")

// writePartFile streams at most maxSize bytes of data into a new file at path, durably: into a
// temporary file in the same directory, synced, moved to path, and the directory synced. It
// reads at most maxSize+1 bytes; if there are more than maxSize it returns errTooLarge. On any
// error nothing is left at path or in the temporary file.
func writePartFile(ctx context.Context, path string, data io.Reader, maxSize int64) (int64, error) {
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
	n, err := io.Copy(tmp, io.LimitReader(ctxReader{ctx, data}, maxSize+1))
	if err != nil {
		return 0, fmt.Errorf("write part file: %w", err)
	}
	if n > maxSize {
		return 0, errTooLarge
	}
	if err := tmp.Sync(); err != nil {
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
	if err := syncDir(dir); err != nil {
		os.Remove(path)
		return 0, err
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
