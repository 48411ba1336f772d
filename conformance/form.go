package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"
	"unicode/utf8"
)

// FormField is one field of a multipart/form-data request body as recorded: its name, file name
// and content type, and either its value (a short text field) or the size and SHA-256 of its
// content (a file, such as the part of addUploadPart, whose bytes are never stored).
type FormField struct {
	Name        string      `json:"name"`
	Filename    string      `json:"filename,omitempty"`
	ContentType string      `json:"content_type,omitempty"`
	Value       *string     `json:"value,omitempty"`
	Digest      *BodyDigest `json:"digest,omitempty"`
}

// maxFormValue is the longest value of a form field (one that is not a file) that is stored as
// text; a longer one is stored as a digest.
const maxFormValue = 64 << 10

// errNotReadToEnd ends the parse of a form whose body was not read to its end.
var errNotReadToEnd = errors.New("the body was not read to its end")

// formCapture parses a multipart/form-data body while it streams through a capture, hashing each
// field's content as it goes: memory stays bounded (the parser's small buffer and at most
// maxFormValue of a text field) whatever the size of a part.
type formCapture struct {
	pw   *io.PipeWriter
	done chan struct{}

	// Set by the parsing goroutine, read once done is closed.
	fields   []FormField
	complete bool  // the closing boundary was read
	err      error // why the parse stopped early, when it did
}

// newFormCapture returns a formCapture for a body of that Content-Type, or nil when it is not a
// multipart form with a boundary.
func newFormCapture(contentType string) *formCapture {
	media, params, err := mime.ParseMediaType(contentType)
	if err != nil || media != "multipart/form-data" || params["boundary"] == "" {
		return nil
	}
	pr, pw := io.Pipe()
	f := &formCapture{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.parse(multipart.NewReader(pr, params["boundary"]))
		// Whatever follows (an epilogue, or the rest of a form that does not parse) is read and
		// dropped, so that the body's reader is never held up.
		_, _ = io.Copy(io.Discard, pr)
	}()
	return f
}

func (f *formCapture) parse(mr *multipart.Reader) {
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			f.complete = true
			return
		}
		if err != nil {
			f.err = err
			return
		}
		field := FormField{Name: p.FormName(), Filename: p.FileName(), ContentType: p.Header.Get("Content-Type")}
		h := sha256.New()
		var value bytes.Buffer
		keep := maxFormValue
		if field.Filename != "" {
			keep = -1 // a file's bytes are never kept, only hashed
		}
		n, err := io.Copy(io.MultiWriter(h, &limitedBuffer{buf: &value, max: keep}), p)
		isText := field.Filename == "" && n <= maxFormValue && utf8.Valid(value.Bytes())
		switch {
		case err == nil && isText:
			v := value.String()
			field.Value = &v
		default:
			field.Digest = &BodyDigest{Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil)), Partial: err != nil}
		}
		f.fields = append(f.fields, field)
		if err != nil {
			f.err = err
			return
		}
	}
}

// write passes bytes of the body to the parser. It is called with the capture's lock held, so
// never at the same time as end.
func (f *formCapture) write(p []byte) { _, _ = f.pw.Write(p) }

// end tells the parser the body ended (read to its end or not), and waits for it to finish.
func (f *formCapture) end(eof bool) {
	if eof {
		_ = f.pw.Close()
	} else {
		_ = f.pw.CloseWithError(errNotReadToEnd)
	}
	<-f.done
}

// recorded returns the fields to record, or false when the body is better recorded as a digest
// of the whole: it is not a form that parses (as far as it was read), or no field began.
func (f *formCapture) recorded() ([]FormField, bool) {
	if len(f.fields) == 0 {
		return nil, false
	}
	if f.complete || errors.Is(f.err, errNotReadToEnd) || errors.Is(f.err, io.ErrUnexpectedEOF) {
		return f.fields, true
	}
	return nil, false
}

// limitedBuffer keeps the first max+1 bytes written to it (none when max is negative), enough to
// tell a value longer than max, and drops the rest.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max + 1 - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// formBody writes a recorded form back as a multipart body with that boundary, for the check of
// its shape: a field stored as a digest is written empty, as its bytes are unknown.
func formBody(fields []FormField, boundary string) ([]byte, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if err := mw.SetBoundary(boundary); err != nil {
		return nil, fmt.Errorf("form: %w", err)
	}
	for _, f := range fields {
		h := textproto.MIMEHeader{}
		disposition := fmt.Sprintf(`form-data; name="%s"`, quoteEscaper.Replace(f.Name))
		if f.Filename != "" {
			disposition += fmt.Sprintf(`; filename="%s"`, quoteEscaper.Replace(f.Filename))
		}
		h.Set("Content-Disposition", disposition)
		if f.ContentType != "" {
			h.Set("Content-Type", f.ContentType)
		}
		w, err := mw.CreatePart(h)
		if err != nil {
			return nil, fmt.Errorf("form: %w", err)
		}
		if f.Value != nil {
			if _, err := io.WriteString(w, *f.Value); err != nil {
				return nil, fmt.Errorf("form: %w", err)
			}
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("form: %w", err)
	}
	return b.Bytes(), nil
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")
