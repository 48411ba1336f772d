package uploads

import (
	"bytes"
	"io"
	"testing"
)

// countingSeeker counts the seeks made on a part's reader.
type countingSeeker struct {
	*bytes.Reader
	seeks int
}

func (c *countingSeeker) Seek(offset int64, whence int) (int64, error) {
	c.seeks++
	return c.Reader.Seek(offset, whence)
}

// TestAddPartRewindsOnlyToRetry: a part that goes through at the first attempt is sent as it
// is; its reader is sought only to find its size (three seeks), never rewound, since a rewind
// can fail or cost a caller's reader a seek it did not need.
func TestAddPartRewindsOnlyToRetry(t *testing.T) {
	fu, f := newFakeUploads(t)
	c, _ := newTestClient(t, f, nil)
	if _, err := c.Create(t.Context(), CreateParams{Filename: "a.jsonl", Purpose: PurposeBatch, Bytes: 5, MIMEType: "text/jsonl"}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	data := &countingSeeker{Reader: bytes.NewReader([]byte("hello"))}
	if _, err := c.AddPart(t.Context(), fakeUploadID, data); err != nil {
		t.Fatalf("AddPart: %v", err)
	}
	if data.seeks != 3 {
		t.Errorf("%d seeks for a part sent once, want 3 (start, end, back to the start)", data.seeks)
	}
	if pos, _ := data.Reader.Seek(0, io.SeekCurrent); pos != 5 {
		t.Errorf("the part's reader is at %d after the part was sent, want 5", pos)
	}
	_ = fu
}
