package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store"
)

// An upload expires one hour after it was created: from then on it takes no part, cannot be
// completed or cancelled, and the sweeper frees its bytes.
func TestUploadExpiry(t *testing.T) {
	e := newEnv(t)
	u := e.createUpload(keyA, 6)
	p := e.mustAddPart(keyA, u.ID, []byte("abc"))

	e.clock.Advance(3599 * time.Second)
	p2 := e.mustAddPart(keyA, u.ID, []byte("def")) // still pending, one second before expiry
	if n, err := e.srv.Sweep(context.Background()); err != nil || n != (store.SweepResult{}) {
		t.Fatalf("sweep before expiry: %+v, %v", n, err)
	}
	if e.partFiles(u.ID) != 2 {
		t.Fatalf("%d part files, want 2", e.partFiles(u.ID))
	}

	e.clock.Advance(time.Second) // now == expires_at
	expired := wantEnvelope{400, invalid, "upload_id", "", "expired"}
	checkEnvelope(t, e.addPart(keyA, u.ID, []byte("x")), expired)
	checkEnvelope(t, e.complete(keyA, u.ID, []string{p, p2}, ""), expired)
	checkEnvelope(t, e.do("POST", "/uploads/"+u.ID+"/cancel", keyA, "", nil), expired)

	n, err := e.srv.Sweep(context.Background())
	if want := (store.SweepResult{Uploads: 1, Bytes: 6}); err != nil || n != want {
		t.Fatalf("sweep: %+v, %v; want %+v", n, err, want)
	}
	if e.partFiles(u.ID) != 0 {
		t.Errorf("%d part files left after the sweep", e.partFiles(u.ID))
	}
	// Still expired, not forgotten.
	checkEnvelope(t, e.complete(keyA, u.ID, []string{p, p2}, ""), expired)
}

// A File made with expires_after is no longer found once it has expired.
func TestFileExpiry(t *testing.T) {
	e := newEnv(t)
	r := e.doJSON("POST", "/uploads", keyA, map[string]any{
		"purpose": "batch", "filename": "b.jsonl", "bytes": 2, "mime_type": "text/jsonl",
		"expires_after": map[string]any{"anchor": "created_at", "seconds": 3600},
	})
	u := decode[gen.Upload](t, r)
	p := e.mustAddPart(keyA, u.ID, []byte("hi"))
	e.clock.Advance(10 * time.Minute)
	f := decode[gen.Upload](t, e.complete(keyA, u.ID, []string{p}, "")).File
	if want := e.clock.Now().Unix() + 3600; f.ExpiresAt == nil || *f.ExpiresAt != want {
		t.Fatalf("file expires_at = %v, want %d (completion + 3600)", f.ExpiresAt, want)
	}
	e.clock.Advance(3599 * time.Second)
	if r := e.do("GET", "/files/"+f.ID+"/content", keyA, "", nil); r.Status != http.StatusOK || string(r.Body) != "hi" {
		t.Fatalf("content before expiry: %d %q", r.Status, r.Body)
	}
	if n, err := e.srv.Sweep(context.Background()); err != nil || n != (store.SweepResult{}) || e.partFiles(u.ID) != 1 {
		t.Fatalf("sweep a second before the File expires: %+v, %v, %d part files left; want nothing, nil, 1", n, err, e.partFiles(u.ID))
	}
	e.clock.Advance(time.Second)
	gone := func() {
		t.Helper()
		for _, path := range []string{"/files/" + f.ID, "/files/" + f.ID + "/content"} {
			checkEnvelope(t, e.do("GET", path, keyA, "", nil), wantEnvelope{404, invalid, "id", "", f.ID})
		}
		checkEnvelope(t, e.do("DELETE", "/files/"+f.ID, keyA, "", nil), wantEnvelope{404, invalid, "id", "", f.ID})
		list := decode[gen.FileList](t, e.do("GET", "/files", keyA, "", nil))
		if len(list.Data) != 0 || list.FirstID != nil || list.LastID != nil || list.HasMore {
			t.Errorf("list after expiry: %+v, want an empty page with null ids", list)
		}
	}
	gone()
	// The sweeper, on the server's clock, frees the expired File's bytes.
	if n, err := e.srv.Sweep(context.Background()); err != nil || n != (store.SweepResult{Files: 1, Bytes: 2}) {
		t.Fatalf("sweep at expiry: %+v, %v; want the File and its 2 bytes", n, err)
	}
	if n := e.partFiles(u.ID); n != 0 {
		t.Errorf("%d part files left after the sweep", n)
	}
	gone()
}

// A batch File expires 30 days after it is created unless expires_after says otherwise; other
// purposes never expire by default.
func TestBatchFilesExpireAfter30Days(t *testing.T) {
	e := newEnv(t)
	file := func(purpose string, expiresAfter int64) *gen.FileObject {
		t.Helper()
		body := map[string]any{"purpose": purpose, "filename": "b.jsonl", "bytes": 2, "mime_type": "text/jsonl"}
		if expiresAfter != 0 {
			body["expires_after"] = map[string]any{"anchor": "created_at", "seconds": expiresAfter}
		}
		u := decode[gen.Upload](t, e.doJSON("POST", "/uploads", keyA, body))
		p := e.mustAddPart(keyA, u.ID, []byte("hi"))
		return decode[gen.Upload](t, e.complete(keyA, u.ID, []string{p}, "")).File
	}
	batch, short, tune := file("batch", 0), file("batch", 3600), file("fine-tune", 0)
	if batch.ExpiresAt == nil || *batch.ExpiresAt != batch.CreatedAt+30*24*3600 {
		t.Errorf("batch File expires_at = %v, want created_at + 30 days (%d)", batch.ExpiresAt, batch.CreatedAt+30*24*3600)
	}
	if short.ExpiresAt == nil || *short.ExpiresAt != short.CreatedAt+3600 {
		t.Errorf("batch File with expires_after 3600: expires_at = %v, want created_at + 3600", short.ExpiresAt)
	}
	if tune.ExpiresAt != nil {
		t.Errorf("fine-tune File expires_at = %d, want null", *tune.ExpiresAt)
	}
	e.clock.Advance(30 * 24 * time.Hour)
	checkEnvelope(t, e.do("GET", "/files/"+batch.ID, keyA, "", nil), wantEnvelope{404, invalid, "id", "", batch.ID})
	if r := e.do("GET", "/files/"+tune.ID, keyA, "", nil); r.Status != http.StatusOK {
		t.Errorf("fine-tune File after 30 days: %d %s", r.Status, r.Body)
	}
}

// The background sweeper runs on its own and stops with Close.
func TestBackgroundSweeper(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.SweepInterval = 5 * time.Millisecond })
	u := e.createUpload(keyA, 3)
	e.mustAddPart(keyA, u.ID, []byte("abc"))
	if r := e.do("POST", "/uploads/"+u.ID+"/cancel", keyA, "", nil); r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.partFiles(u.ID) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not free the cancelled upload's parts")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := e.srv.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := e.srv.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}
