package pgstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/pgstore"
)

// t0 is the tests' clock, in Unix seconds.
const t0 int64 = 1_700_000_000

const owner = "owner-test"

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newPartID() string { return "part_" + randomHex(16) }
func newFileID() string { return "file-" + randomHex(11) }

// createUpload records a pending upload of size bytes created at t0.
func createUpload(t *testing.T, s store.Store, size int64) store.Upload {
	t.Helper()
	u := store.Upload{ID: "upload_" + randomHex(16), Owner: owner, Filename: "data.jsonl", Purpose: "batch",
		MIMEType: "application/jsonl", Bytes: size, CreatedAt: t0, ExpiresAt: t0 + 3600}
	if err := s.CreateUpload(context.Background(), u); err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	u.Status = store.StatusPending
	return u
}

// addPart adds data as a part of upload uploadID at t0.
func addPart(t *testing.T, s store.Store, uploadID string, data []byte, maxSize int64) store.Part {
	t.Helper()
	p, err := s.AddPart(context.Background(), owner, uploadID, newPartID(),
		bytes.NewReader(data), store.Limits{MaxPart: maxSize}, store.At(t0))
	if err != nil {
		t.Fatalf("AddPart: %v", err)
	}
	return p
}

// complete completes upload uploadID with partIDs at t0.
func complete(t *testing.T, s store.Store, uploadID string, partIDs []string, md5Hex string) store.File {
	t.Helper()
	_, f, err := s.Complete(context.Background(), owner, uploadID, partIDs, md5Hex, newFileID(), store.At(t0))
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	return f
}

// readFile reads the whole content of file fileID.
func readFile(t *testing.T, s store.Store, fileID string) []byte {
	t.Helper()
	f, r, err := s.OpenFile(context.Background(), owner, fileID, t0)
	if err != nil {
		t.Fatalf("OpenFile: %v", err)
	}
	size := f.Bytes
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read file: %v", err)
	}
	if int64(len(data)) != size {
		t.Errorf("OpenFile said %d bytes, read %d", size, len(data))
	}
	return data
}

// partObjects lists the part objects of an upload in cfg's bucket prefix.
func partObjects(keys []string, uploadID string) []string {
	var out []string
	for _, k := range keys {
		if strings.HasPrefix(k, "parts/"+uploadID+"/") {
			out = append(out, k)
		}
	}
	return out
}

// openPair opens two stores on one database and bucket, as two replicas do.
func openPair(t *testing.T, cfg pgstore.Config, open func(testing.TB, pgstore.Config) *pgstore.Store) (*pgstore.Store, *pgstore.Store) {
	t.Helper()
	return open(t, cfg), open(t, cfg)
}
