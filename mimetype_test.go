package uploads

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/uploadkit/uploads/server"
)

// TestGuessMIMETypeFor: fine-tune and batch take JSON Lines whatever the extension; other purposes
// get the guess from the name.
func TestGuessMIMETypeFor(t *testing.T) {
	for _, c := range []struct {
		name    string
		purpose Purpose
		want    string
	}{
		{"train.jsonl", PurposeFineTune, "text/jsonl"},
		{"train.txt", PurposeFineTune, "text/jsonl"},
		{"requests", PurposeBatch, "text/jsonl"},
		{"notes.txt", PurposeAssistants, "text/plain"},
		{"cat.png", PurposeVision, "image/png"},
		{"noext", PurposeUserData, "application/octet-stream"},
	} {
		if got := GuessMIMETypeFor(c.name, c.purpose); got != c.want {
			t.Errorf("GuessMIMETypeFor(%q, %s) = %q, want %q", c.name, c.purpose, got, c.want)
		}
	}
}

// TestUploadFileGuessesATypeThePurposeTakes: a fine-tune file named without .jsonl is accepted by
// the reference server, which, like the live service, refuses text/plain for fine-tune.
func TestUploadFileGuessesATypeThePurposeTakes(t *testing.T) {
	fs := newFaultyServer(t, server.Faults{}, server.RateLimit{})
	c, _ := fs.client(false)
	path := filepath.Join(t.TempDir(), "train.txt")
	content := []byte("{\"messages\":[]}\n")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	up, err := c.UploadFile(t.Context(), path, UploadFileParams{Purpose: PurposeFineTune})
	if err != nil {
		t.Fatalf("UploadFile of train.txt for fine-tune: %v", err)
	}
	if got := fs.fileContent(up); string(got) != string(content) {
		t.Errorf("content = %q, want %q", got, content)
	}
}
