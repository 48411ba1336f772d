package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/uploadkit/uploads/gen"
)

// topLevelKeys is the keys of the JSON object b, in the order they are written.
func topLevelKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object (%v, %v): %s", tok, err, b)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("read key: %v: %s", err, b)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("read value of %q: %v: %s", tok, err, b)
		}
	}
	return keys
}

// recordedKeys is the top-level keys of a recording of the live service, in its order.
func recordedKeys(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "recorded", name))
	if err != nil {
		t.Fatal(err)
	}
	return topLevelKeys(t, b)
}

// The list envelope and the answer to a deletion write their keys in the order the live service
// does, as recorded (object, data, has_more, first_id, last_id; object, deleted, id): clients
// that read the bytes, or compare them, see what the live service sends.
func TestAnswersKeepTheRecordedKeyOrder(t *testing.T) {
	e := newEnv(t)
	up := e.createUpload(keyA, 4)
	part := e.mustAddPart(keyA, up.ID, []byte("data"))
	file := decode[gen.Upload](t, e.complete(keyA, up.ID, []string{part}, "")).File

	cases := []struct {
		name, recording, method, path string
	}{
		{"list, one File", "files-list-200.json", "GET", "/files"},
		{"delete", "files-delete-200.json", "DELETE", "/files/" + file.ID},
		{"list, empty", "files-list-200.json", "GET", "/files"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := recordedKeys(t, c.recording)
			r := e.do(c.method, c.path, keyA, "", nil)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			if got := topLevelKeys(t, r.Body); !slices.Equal(got, want) {
				t.Errorf("keys %q, want %q as recorded; body %s", got, want, r.Body)
			}
		})
	}
}
