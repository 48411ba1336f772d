package uploads

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadAnswer(t *testing.T) {
	small := strings.Repeat("a", 300)
	big := strings.Repeat("b", maxResponseBody+10)
	failure := errors.New("connection reset")
	tests := []struct {
		name          string
		from          string // what body yields, before any error
		body          io.Reader
		contentLength int64
		want          int // bytes returned
		wantErr       error
	}{
		{"known length", small, strings.NewReader(small), 300, 300, nil},
		{"unknown length", small, strings.NewReader(small), -1, 300, nil},
		{"one byte at a time", small, iotest.OneByteReader(strings.NewReader(small)), 300, 300, nil},
		{"length understated", small, strings.NewReader(small), 10, 300, nil},
		{"empty", "", strings.NewReader(""), 0, 0, nil},
		{"over the limit, known length", big, strings.NewReader(big), int64(len(big)), maxResponseBody + 1, nil},
		{"over the limit, unknown length", big, strings.NewReader(big), -1, maxResponseBody + 1, nil},
		{"read error", small, io.MultiReader(strings.NewReader(small), iotest.ErrReader(failure)), -1, 300, failure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readAnswer(tt.body, tt.contentLength)
			if !errors.Is(err, tt.wantErr) || len(got) != tt.want {
				t.Fatalf("readAnswer = %d bytes, %v; want %d bytes, %v", len(got), err, tt.want, tt.wantErr)
			}
			if string(got) != tt.from[:len(got)] {
				t.Errorf("readAnswer returned bytes that are not the start of the body")
			}
		})
	}
}

// An answer over the size limit is refused when it is a success, and cut to the limit when it is
// an error, whether or not its length was announced.
func TestOversizedAnswers(t *testing.T) {
	big := `{"id":"` + strings.Repeat("x", maxResponseBody) + `"}`
	for _, announce := range []bool{true, false} {
		for _, status := range []int{http.StatusOK, http.StatusBadRequest} {
			framing := map[bool]string{true: "content-length", false: "chunked"}[announce]
			t.Run(framing+"/"+strconv.Itoa(status), func(t *testing.T) {
				f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					if announce {
						w.Header().Set("Content-Length", strconv.Itoa(len(big)))
					}
					w.WriteHeader(status)
					io.WriteString(w, big)
				})
				// A plain transport, so that the answer reaches the client as the server framed it.
				c, _ := newTestClient(t, f, nil, WithHTTPClient(&http.Client{}))
				_, err := c.Cancel(t.Context(), "upload_abc")
				var apiErr *APIError
				switch {
				case status == http.StatusOK && (err == nil || !strings.Contains(err.Error(), "over")):
					t.Fatalf("Cancel: got %v, want an error saying the answer is over the limit", err)
				case status != http.StatusOK && !errors.As(err, &apiErr):
					t.Fatalf("Cancel: got %v, want an APIError", err)
				case status != http.StatusOK && len(apiErr.Body) != maxResponseBody:
					t.Fatalf("APIError body = %d bytes, want it cut to %d", len(apiErr.Body), maxResponseBody)
				}
			})
		}
	}
}

// A success answer that does not hold the object asked for is an error, for each type of object
// the client decodes.
func TestSuccessWithoutObjectIsAnError(t *testing.T) {
	for _, body := range []string{`null`, `{}`, `{"id":""}`, `{"error":{"message":"proxy says no"}}`} {
		f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, body)
		})
		c, _ := newTestClient(t, f, func(error) {})
		calls := map[string]func() error{
			"upload": func() error { _, err := c.Cancel(t.Context(), "upload_abc"); return err },
			"part": func() error {
				_, err := c.AddPart(t.Context(), "upload_abc", strings.NewReader("data"))
				return err
			},
			"file": func() error { _, err := c.RetrieveFile(t.Context(), "file-abc"); return err },
		}
		for name, call := range calls {
			if err := call(); !errors.Is(err, errNoObject) {
				t.Errorf("%s answered %s: got %v, want errNoObject", name, body, err)
			}
		}
	}
	// The fallback for other types reads the id from the answer itself.
	if got := objectID(&struct{}{}, []byte(`{"id":"x"}`)); got != "x" {
		t.Errorf("objectID of another type = %q, want x", got)
	}
}
