package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store"
)

// The parts of one upload never hold more than the upload limit: the part that would take them
// past it is a 400 on data, and is not recorded.
func TestUploadLimit(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.MaxUploadBytes = 10 })
	u := e.createUpload(keyA, 1) // declared 1 byte: the parts may still reach the limit
	var ids []string
	for _, data := range []string{"abcd", "efgh", "ij"} {
		ids = append(ids, e.mustAddPart(keyA, u.ID, []byte(data)))
	}
	checkEnvelope(t, e.addPart(keyA, u.ID, []byte("k")), wantEnvelope{400, invalid, "data", "upload_too_large", "already holds 10 bytes of parts"})
	r := e.complete(keyA, u.ID, ids, "")
	checkEnvelope(t, r, wantEnvelope{400, invalid, "part_ids", "invalid_value", "The parts hold 10 bytes in total"})
}

// With a storage quota, a key keeps at most that many bytes of parts and files; other keys are
// not affected, and a cancel gives room back.
func TestStorageQuota(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.StorageQuotaBytes = 12 })
	a := e.createUpload(keyA, 8)
	e.mustAddPart(keyA, a.ID, []byte("aaaa"))
	e.mustAddPart(keyA, a.ID, []byte("bbbb"))
	b := e.createUpload(keyA, 8)
	e.mustAddPart(keyA, b.ID, []byte("cccc"))
	checkEnvelope(t, e.addPart(keyA, b.ID, []byte("d")), wantEnvelope{400, invalid, "data", "storage_quota_exceeded", "storage quota of 12 bytes"})

	other := e.createUpload(keyB, 12)
	e.mustAddPart(keyB, other.ID, []byte("012345678901"))

	if r := e.do("POST", "/uploads/"+a.ID+"/cancel", keyA, "", nil); r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	e.mustAddPart(keyA, b.ID, []byte("dddd"))
}

// spaceStore is a store whose free space the test sets, and whose writes fail with ErrNoSpace
// when told to.
type spaceStore struct {
	store.Store
	free    atomic.Int64
	fullErr atomic.Bool // AddPart and CreateUpload fail as on a full disk
}

func (s *spaceStore) FreeBytes(context.Context) (int64, error) { return s.free.Load(), nil }

func (s *spaceStore) CreateUpload(ctx context.Context, u store.Upload) error {
	if s.fullErr.Load() {
		return fmt.Errorf("create upload: %w", store.ErrNoSpace)
	}
	return s.Store.CreateUpload(ctx, u)
}

func (s *spaceStore) AddPart(ctx context.Context, owner, uploadID, partID string, data io.Reader, lim store.Limits, now store.Clock) (store.Part, error) {
	if s.fullErr.Load() {
		_, _ = io.Copy(io.Discard, data)
		return store.Part{}, fmt.Errorf("write part: %w", store.ErrNoSpace)
	}
	return s.Store.AddPart(ctx, owner, uploadID, partID, data, lim, now)
}

// healthStatus is the status /healthz reports.
func (e *env) healthStatus() (int, string) {
	e.t.Helper()
	resp, err := http.Get(e.http.URL + "/healthz")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Status string }
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &body); err != nil {
		e.t.Fatalf("healthz: %v: %s", err, b)
	}
	return resp.StatusCode, body.Status
}

// Below the free-space floor, creates and parts are refused with a 507 that clients retry, and
// /healthz says degraded; cancels, completions and downloads still work, and the server takes
// uploads again once space returns.
func TestFreeSpaceFloor(t *testing.T) {
	ss := &spaceStore{}
	ss.free.Store(1 << 30)
	e := newEnv(t, func(c *server.Config) { ss.Store = c.Store; c.Store = ss; c.MinFreeBytes = 1 << 20 })
	done := e.createUpload(keyA, 3)
	p := e.mustAddPart(keyA, done.ID, []byte("abc"))
	pending := e.createUpload(keyA, 3)
	e.mustAddPart(keyA, pending.ID, []byte("xyz"))
	if code, status := e.healthStatus(); code != http.StatusOK || status != "ok" {
		t.Fatalf("healthz with room: %d %q", code, status)
	}

	ss.free.Store(1<<20 - 1)
	want := wantEnvelope{507, "server_error", "", "insufficient_storage", "below its floor of 1048576 bytes"}
	for _, r := range []reply{
		e.doJSON("POST", "/uploads", keyA, map[string]any{"purpose": "batch", "filename": "a", "bytes": 1, "mime_type": "text/jsonl"}),
		e.addPart(keyA, pending.ID, []byte("more")),
	} {
		checkEnvelope(t, r, want)
		if r.Header.Get("retry-after") != "30" || r.Header.Get("retry-after-ms") != "30000" {
			t.Errorf("507 without retry-after: %v", r.Header)
		}
	}
	if code, status := e.healthStatus(); code != http.StatusOK || status != "degraded" {
		t.Errorf("healthz below the floor: %d %q, want 200 degraded", code, status)
	}
	if r := e.complete(keyA, done.ID, []string{p}, ""); r.Status != http.StatusOK {
		t.Errorf("complete below the floor: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/uploads/"+pending.ID+"/cancel", keyA, "", nil); r.Status != http.StatusOK {
		t.Errorf("cancel below the floor: %d %s", r.Status, r.Body)
	}

	// The disk fills while the floor still looks clear: the store's ErrNoSpace is the same 507.
	ss.free.Store(1 << 30)
	ss.fullErr.Store(true)
	checkEnvelope(t, e.doJSON("POST", "/uploads", keyA, map[string]any{"purpose": "batch", "filename": "a", "bytes": 1, "mime_type": "text/jsonl"}),
		wantEnvelope{507, "server_error", "", "insufficient_storage", "out of storage space"})
	ss.fullErr.Store(false)

	// Space is back: everything works again, with no restart.
	u := e.createUpload(keyA, 1)
	e.mustAddPart(keyA, u.ID, []byte("z"))
	if code, status := e.healthStatus(); code != http.StatusOK || status != "ok" {
		t.Errorf("healthz once space is back: %d %q", code, status)
	}
}

// Expiry is decided when a part is recorded, not when its request arrived: a part that streams in
// across the upload's expires_at is refused, and nothing of it stays.
func TestExpiryDecidedAtCommit(t *testing.T) {
	e := newEnv(t)
	u := e.createUpload(keyA, 5)
	e.clock.Advance(time.Hour - time.Second) // one second left

	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	result := make(chan reply, 1)
	go func() {
		result <- e.do("POST", "/uploads/"+u.ID+"/parts", keyA, mw.FormDataContentType(), pr)
	}()
	fw, err := mw.CreateFormFile("data", "blob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	// The store has checked the upload and begun writing the part once its temporary file exists.
	dir := filepath.Join(e.dir, "parts", u.ID)
	for {
		entries, _ := os.ReadDir(dir)
		if len(entries) > 0 {
			break
		}
		select {
		case r := <-result:
			t.Fatalf("answered before the part was written: %d %s", r.Status, r.Body)
		case <-time.After(5 * time.Millisecond):
		}
	}
	e.clock.Advance(time.Second) // expires_at passes while the part streams in
	if _, err := fw.Write([]byte("de")); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	checkEnvelope(t, <-result, wantEnvelope{400, invalid, "upload_id", "", "it has expired"})
	if n := e.partFiles(u.ID); n != 0 {
		t.Errorf("%d part files left for the refused part", n)
	}
}
