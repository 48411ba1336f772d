package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/uploadkit/uploads/store/sqlitestore"
)

// countingBody counts what is read from it.
type countingBody struct {
	r io.Reader
	n atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return nil }

// TestValidateLeavesPartBodyUnread proves that spec validation of addUploadPart reads nothing of the
// part: the whole body must reach the handler unread, so the handler can stream it to the store.
func TestValidateLeavesPartBodyUnread(t *testing.T) {
	st, err := sqlitestore.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := New(Config{Store: st, APIKeys: []string{"sk-test"}, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	const form = "--b\r\nContent-Disposition: form-data; name=\"data\"; filename=\"blob\"\r\n" +
		"Content-Type: application/octet-stream\r\n\r\nhello\r\n--b--\r\n"
	body := &countingBody{r: strings.NewReader(form)}
	req := httptest.NewRequest(http.MethodPost, "/v1/uploads/upload_0123/parts", body)
	req.Header.Set("Authorization", "Bearer sk-test")
	req.Header.Set("Content-Type", "multipart/form-data; boundary=b")

	var readBefore int64 = -1
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		readBefore = body.n.Load()
		rest, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read the body in the handler: %v", err)
		}
		if string(rest) != form {
			t.Errorf("handler got %q, want the whole form", rest)
		}
	})
	rec := httptest.NewRecorder()
	s.validate(next).ServeHTTP(rec, req)
	if readBefore < 0 {
		t.Fatalf("validation did not pass the request on: %d %s", rec.Code, rec.Body)
	}
	if readBefore != 0 {
		t.Fatalf("validation read %d bytes of the part before the handler", readBefore)
	}
}
