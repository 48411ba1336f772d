package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/uploadkit/uploads/gen"
)

// The Files endpoints answer a File that does not exist with the live service's 404, byte for
// byte as recorded (keys, their order, the pretty-printing), the ID asked for standing where the
// recording has fake_id: an ID that never existed, a deleted File, and another key's File alike.
func TestFileNotFoundIsTheRecordedAnswer(t *testing.T) {
	e := newEnv(t)
	up := e.createUpload(keyA, 4)
	part := e.mustAddPart(keyA, up.ID, []byte("data"))
	deleted := decode[gen.Upload](t, e.complete(keyA, up.ID, []string{part}, "")).File
	if r := e.do("DELETE", "/files/"+deleted.ID, keyA, "", nil); r.Status != http.StatusOK {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	up = e.createUpload(keyA, 4)
	part = e.mustAddPart(keyA, up.ID, []byte("data"))
	others := decode[gen.Upload](t, e.complete(keyA, up.ID, []string{part}, "")).File

	ops := []struct{ recording, method, path string }{
		{"files-get-404.json", "GET", "/files/%s"},
		{"files-content-404.json", "GET", "/files/%s/content"},
		{"files-delete-404.json", "DELETE", "/files/%s"},
	}
	ids := []struct{ name, id, key string }{
		{"never existed", "fake_id", keyA},
		{"deleted", deleted.ID, keyA},
		{"another key's", others.ID, keyB},
	}
	for _, op := range ops {
		recorded, err := os.ReadFile(filepath.Join("..", "testdata", "recorded", op.recording))
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			t.Run(op.recording+" "+id.name, func(t *testing.T) {
				want := bytes.ReplaceAll(bytes.TrimSpace(recorded), []byte("fake_id"), []byte(id.id))
				r := e.do(op.method, fmt.Sprintf(op.path, id.id), id.key, "", nil)
				if r.Status != http.StatusNotFound {
					t.Errorf("status %d, want 404", r.Status)
				}
				if got := bytes.TrimSpace(r.Body); !bytes.Equal(got, want) {
					t.Errorf("body:\n%s\nwant, as recorded:\n%s", got, want)
				}
			})
		}
	}
	if r := e.do("GET", "/files/"+others.ID, keyA, "", nil); r.Status != http.StatusOK {
		t.Errorf("the owner's File answers %d %s", r.Status, r.Body)
	}
}

// The official SDK takes the 404 with detail for the error it is: an *openai.Error with the
// envelope's fields, on each of the three Files operations.
func TestOfficialSDKFileNotFound(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.sdkClient(keyA, true)
	calls := map[string]func() error{
		"get": func() error { _, err := c.Files.Get(ctx, "file-missing"); return err },
		"content": func() error {
			resp, err := c.Files.Content(ctx, "file-missing")
			if err == nil {
				resp.Body.Close()
			}
			return err
		},
		"delete": func() error { _, err := c.Files.Delete(ctx, "file-missing"); return err },
	}
	for name, call := range calls {
		err := call()
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) {
			t.Errorf("%s: %v, want an *openai.Error", name, err)
			continue
		}
		if apiErr.StatusCode != http.StatusNotFound || apiErr.Message != "No such File object: file-missing" ||
			apiErr.Param != "id" || apiErr.Code != "" || apiErr.Type != invalid {
			t.Errorf("%s: %d %q type %q param %q code %q", name, apiErr.StatusCode, apiErr.Message, apiErr.Type, apiErr.Param, apiErr.Code)
		}
	}
}
