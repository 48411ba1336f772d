package sqlitestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/store"
)

const (
	owner   = "owner-test"
	t0      = int64(1_700_000_000)
	maxPart = 1024
)

func randomID(prefix string) string {
	b := make([]byte, 16)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// mustCreate records a pending upload of size bytes created at t0.
func mustCreate(t *testing.T, s *Store, size int64) store.Upload {
	t.Helper()
	u := store.Upload{ID: randomID("upload_"), Owner: owner, Filename: "f.txt", Purpose: "batch",
		MIMEType: "text/plain", Bytes: size, CreatedAt: t0, ExpiresAt: t0 + 3600, Status: store.StatusPending}
	if err := s.CreateUpload(context.Background(), u); err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	return u
}

// mustAddPart adds data as a part at t0.
func mustAddPart(t *testing.T, s *Store, uploadID, data string) store.Part {
	t.Helper()
	p, err := s.AddPart(context.Background(), owner, uploadID, randomID("part_"),
		strings.NewReader(data), store.Limits{MaxPart: maxPart}, store.At(t0))
	if err != nil {
		t.Fatalf("AddPart: %v", err)
	}
	return p
}

// mustComplete completes an upload with the given parts at t0.
func mustComplete(t *testing.T, s *Store, uploadID string, partIDs ...string) store.File {
	t.Helper()
	_, f, err := s.Complete(context.Background(), owner, uploadID, partIDs, "", randomID("file-"), store.At(t0))
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	return f
}

// mustRead returns the content of a file.
func mustRead(t *testing.T, s *Store, fileID string) string {
	t.Helper()
	_, rc, err := s.OpenFile(context.Background(), owner, fileID, t0)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read file: %v", err)
	}
	return string(b)
}

// exists reports whether path exists.
func exists(t testing.TB, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat %s: %v", path, err)
	}
	return err == nil
}

// filesUnder lists the regular files under dir, relative to it.
func filesUnder(t testing.TB, dir string) []string {
	t.Helper()
	var names []string
	err := fs.WalkDir(os.DirFS(dir), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			names = append(names, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return names
}
