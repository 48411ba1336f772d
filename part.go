package uploads

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"sync"
)

// AddPart adds one part, at most MaxPartSize bytes, to a pending upload, reading it from data. The
// multipart body is streamed from data as it is sent: the part is never held in memory.
//
// A failed attempt is retried only when data can be rewound: when it is an io.Seeker that seeks
// (read from its current offset), or else an io.ReaderAt that reads at offset 0 (read from there).
// Any other reader is sent once, and so is a file that is a pipe, FIFO, socket or terminal, even
// though *os.File has Seek and ReadAt methods: its bytes cannot be read twice. An error of such a
// part that would otherwise have been retried says why it was not. When
// the size of data is known (an io.Seeker, or a reader with a Size() int64 or Len() int method) the
// request carries a Content-Length, and a part over MaxPartSize is refused before anything is sent;
// otherwise the body is sent chunked.
func (c *Client) AddPart(ctx context.Context, uploadID string, data io.Reader, opts ...CallOption) (*UploadPart, error) {
	const what = "add part to upload"
	if err := checkID(what, "upload ID", uploadID); err != nil {
		return nil, err
	}
	op := what + " " + uploadID
	if data == nil {
		return nil, &InvalidParamError{Operation: op, Param: "data", Reason: "nil reader"}
	}
	src, err := newPartSource(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if src.size > MaxPartSize {
		return nil, &InvalidParamError{Operation: op, Param: "data", Reason: fmt.Sprintf("%d bytes is more than the %d a part may have", src.size, MaxPartSize)}
	}
	form, err := newFormFrame(partFilename(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var part UploadPart
	err = c.callJSON(ctx, request{
		op:      op,
		noRetry: src.noRetry,
		rewind:  src.rewind,
		watch:   true,
		send: func(ctx context.Context) (*http.Response, error) {
			body := watchBody(ctx, io.MultiReader(bytes.NewReader(form.head), src.reader(), bytes.NewReader(form.tail)))
			if src.rewind != nil {
				// Only a body that may be re-sent needs cutting off; a read of a one-shot source may
				// block, and nothing else will read that source after this attempt.
				d := &detachableBody{r: body}
				defer d.detach()
				body = d
			}
			return c.api.AddUploadPartWithBody(ctx, uploadID, form.contentType, body, func(_ context.Context, req *http.Request) error {
				if src.size >= 0 {
					req.ContentLength = int64(len(form.head)) + src.size + int64(len(form.tail))
				}
				return nil
			})
		},
	}, opts, &part)
	if err != nil {
		return nil, err
	}
	return &part, nil
}

// partSource is the data of a part: how to read it, how to rewind it (nil when it cannot be,
// with noRetry saying why), and its size (-1 unknown).
type partSource struct {
	reader  func() io.Reader
	rewind  func() error
	noRetry string
	size    int64
}

// newPartSource works out how data can be read, and whether it can be rewound. It never trusts a
// method set alone: an *os.File that is a pipe has Seek and ReadAt methods that fail, so a file's
// kind is checked, a seek is tried before a Seeker counts as rewindable, and a byte is read at
// offset 0 before a ReaderAt does.
func newPartSource(data io.Reader) (partSource, error) {
	if kind := streamKind(data); kind != "" {
		// Each read takes bytes away for good, whatever methods the value has.
		return partSource{
			reader:  func() io.Reader { return data },
			noRetry: "the part is read from " + kind + ", which cannot be rewound to send it again",
			size:    -1,
		}, nil
	}
	if s, ok := data.(io.Seeker); ok {
		if start, err := s.Seek(0, io.SeekCurrent); err == nil {
			end, err := s.Seek(0, io.SeekEnd)
			if err != nil {
				return partSource{}, fmt.Errorf("find the size of the part: %w", err)
			}
			if _, err := s.Seek(start, io.SeekStart); err != nil {
				return partSource{}, fmt.Errorf("find the size of the part: %w", err)
			}
			return partSource{
				reader: func() io.Reader { return data },
				rewind: func() error {
					_, err := s.Seek(start, io.SeekStart)
					return err
				},
				size: end - start,
			}, nil
		}
		// A Seeker that cannot seek is an ordinary reader.
	}
	size := int64(-1)
	switch v := data.(type) {
	case interface{ Size() int64 }:
		size = v.Size()
	case interface{ Len() int }:
		size = int64(v.Len())
	}
	noRetry := "the part's reader can neither seek nor be read at an offset, so it cannot be rewound to send it again"
	if ra, ok := data.(io.ReaderAt); ok {
		var b [1]byte
		_, err := ra.ReadAt(b[:], 0)
		if err == nil || errors.Is(err, io.EOF) {
			return partSource{
				reader: func() io.Reader { return io.NewSectionReader(ra, 0, math.MaxInt64) },
				rewind: func() error { return nil },
				size:   size,
			}, nil
		}
		noRetry = fmt.Sprintf("the part's reader cannot be read at an offset (%v), so it cannot be rewound to send it again", err)
	}
	return partSource{reader: func() io.Reader { return data }, noRetry: noRetry, size: size}, nil
}

// streamKind names what data streams from when it is a file that cannot be rewound: a pipe or
// FIFO, a socket, or a terminal or other character device. It is "" for anything else.
func streamKind(data io.Reader) string {
	f, ok := data.(interface{ Stat() (fs.FileInfo, error) })
	if !ok {
		return ""
	}
	info, err := f.Stat()
	if err != nil {
		return ""
	}
	switch mode := info.Mode(); {
	case mode&fs.ModeNamedPipe != 0:
		return "a pipe"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeCharDevice != 0:
		return "a terminal or character device"
	}
	return ""
}

// partFilename is the filename the part is sent under: the base name of a file, else "part".
func partFilename(data io.Reader) string {
	if n, ok := data.(interface{ Name() string }); ok && n.Name() != "" {
		return filepath.Base(n.Name())
	}
	return "part"
}

// formFrame is the multipart form around the bytes of a part: the boundary and headers of the data
// field before them, the closing boundary after them.
type formFrame struct {
	contentType string
	head, tail  []byte
}

func newFormFrame(filename string) (formFrame, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if _, err := w.CreateFormFile("data", filename); err != nil {
		return formFrame{}, fmt.Errorf("build the multipart form: %w", err)
	}
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := w.Close(); err != nil {
		return formFrame{}, fmt.Errorf("build the multipart form: %w", err)
	}
	return formFrame{contentType: w.FormDataContentType(), head: head, tail: bytes.Clone(buf.Bytes())}, nil
}

var errBodyDetached = errors.New("request body detached after the attempt ended")

// detachableBody is a request body that can be cut off from its source. The transport may still
// read a body after the round trip returned; detach waits for a read in progress and makes later
// reads fail, so the source can safely be rewound for the next attempt.
type detachableBody struct {
	mu       sync.Mutex
	r        io.Reader
	detached bool
}

func (b *detachableBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.detached {
		return 0, errBodyDetached
	}
	return b.r.Read(p)
}

func (b *detachableBody) Close() error {
	b.detach()
	return nil
}

func (b *detachableBody) detach() {
	b.mu.Lock()
	b.detached = true
	b.mu.Unlock()
}
