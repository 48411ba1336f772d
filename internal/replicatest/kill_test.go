package replicatest_test

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uploadkit/uploads/store/pgstore/pgstoretest"
)

// TestReplicaKilledMidPartLeavesTheBucketClean kills (SIGKILL) a server process while it streams
// a large part to the bucket as an S3 multipart upload, then cancels the upload on another
// replica and sweeps: the bucket holds no object and no unfinished multipart upload of it.
func TestReplicaKilledMidPartLeavesTheBucketClean(t *testing.T) {
	bin := buildServer(t)
	cfg := storeConfig(t)
	victim := startProcess(t, bin, cfg)
	survivor := startInProcess(t, cfg)
	uploadID := victim.createUpload(t, 64<<20)

	// A 64 MiB part of which 20 MiB are sent before the sender stalls: by then the replica has
	// started a multipart upload and sent it a chunk or two.
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, err := mw.CreateFormFile("data", "blob")
		if err == nil {
			_, err = fw.Write(make([]byte, 20<<20))
		}
		if err != nil {
			pw.CloseWithError(err)
		}
		// Stalls here: the rest never comes, the pipe is closed by the test.
	}()
	req, err := http.NewRequest(http.MethodPost, victim.apiURL+"/uploads/"+uploadID+"/parts", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	t.Cleanup(func() { pw.Close(); <-sent })

	deadline := time.Now().Add(time.Minute)
	for pgstoretest.IncompleteMultipartUploads(t, cfg) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no multipart upload started in a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := victim.proc.Kill(); err != nil {
		t.Fatalf("kill the replica: %v", err)
	}
	_, _ = victim.proc.Wait()
	pw.Close()
	<-sent
	if n := pgstoretest.IncompleteMultipartUploads(t, cfg); n == 0 {
		t.Fatal("the killed replica left no unfinished multipart upload: the test shows nothing")
	}

	if st := survivor.cancel(t, uploadID); st != http.StatusOK {
		t.Fatalf("cancel on the surviving replica answered %d", st)
	}
	sweeper := pgstoretest.OpenWith(t, cfg)
	if _, err := sweeper.SweepExpired(context.Background(), time.Now().Unix()); err != nil {
		t.Fatalf("SweepExpired: %v", err)
	}
	if n := pgstoretest.IncompleteMultipartUploads(t, cfg); n != 0 {
		t.Errorf("%d unfinished multipart uploads after the sweep, want 0", n)
	}
	for _, key := range pgstoretest.ObjectKeys(t, cfg) {
		if strings.HasPrefix(key, "parts/"+uploadID+"/") {
			t.Errorf("object %s left after the sweep", key)
		}
	}
	if n := pgstoretest.QueryInt(t, cfg, `SELECT COUNT(*) FROM part_writes`); n != 0 {
		t.Errorf("%d notes of writes left after the sweep", n)
	}
}
