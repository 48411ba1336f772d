package reliability

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestPartsRacingCancelLeaveNoDirectory sends a part and a cancel of the same upload at once, 30
// times: whichever wins, no empty part directory stays behind (the invariants check it).
func TestPartsRacingCancelLeaveNoDirectory(t *testing.T) {
	ts := startServer(t)
	in := openInspector(t, ts.dir)
	data := bytes.Repeat([]byte("r"), 64<<10)
	for range 30 {
		id := idOf(t, postJSON(t, ts.URL+"/uploads", keyA, createBody(int64(len(data)))))
		var wg sync.WaitGroup
		var part, cancel reply
		var partErr, cancelErr error
		ct, body := form(formField{name: "data", filename: "r", data: data})
		wg.Go(func() {
			part, partErr = trySend(rawRequest{method: "POST", url: ts.URL + "/uploads/" + id + "/parts", key: keyA,
				contentType: ct, body: bytes.NewReader(body)})
		})
		wg.Go(func() {
			cancel, cancelErr = trySend(rawRequest{method: "POST", url: ts.URL + "/uploads/" + id + "/cancel", key: keyA})
		})
		wg.Wait()
		if partErr != nil || cancelErr != nil {
			t.Fatalf("part: %v; cancel: %v", partErr, cancelErr)
		}
		if cancel.Status != statusOK {
			t.Fatalf("cancel: %d %s", cancel.Status, cancel.Body)
		}
		if part.Status != statusOK {
			checkAnswer(t, hostile{status: 400, typ: inv, param: "upload_id"}, part)
		}
	}
	ts.waitIdle(t)
	in.checkInvariants(t, true)
}

// mountTmpfs mounts a tmpfs of size bytes on a new temporary directory for the test, and returns
// the directory. It needs root: it skips without, except in CI, which runs as root and must run it.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI must run as root: this test mounts a tmpfs to fill a disk")
		}
		t.Skip("needs root to mount a tmpfs to fill (CI runs it)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("unmount the tmpfs: %v: %s", err, out)
		}
	})
	return dir
}

// fillDisk writes a file at path until the disk is full, and returns a function that removes it.
func fillDisk(t *testing.T, path string) func() {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("fill the disk: %v", err)
	}
	defer f.Close()
	for _, block := range []int{1 << 20, 4 << 10, 1} {
		buf := make([]byte, block)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("fill the disk: %v", err)
				}
				break
			}
		}
	}
	return func() {
		if err := os.Remove(path); err != nil {
			t.Errorf("free the disk: %v", err)
		}
	}
}

// health is the status /healthz reports.
func health(t *testing.T, ts *testServer) string {
	t.Helper()
	r := send(t, rawRequest{method: "GET", url: strings.TrimSuffix(ts.URL, "/v1") + "/healthz"})
	if r.Status != statusOK {
		t.Fatalf("healthz: %d %s", r.Status, r.Body)
	}
	return decodeOK[struct{ Status string }](t, r).Status
}

// megabyte is part i of an upload in the disk tests: 1 MiB that differs from one i to another.
func megabyte(i int) []byte {
	return bytes.Repeat([]byte{byte(i), byte(i >> 8), 'm', 'b'}, 1<<18)
}

// noRoom is the answer to a create or a part when the disk has no room: 507 with the envelope.
var noRoom = hostile{status: 507, typ: "server_error", code: "insufficient_storage"}

// TestDiskFull runs the server on a small tmpfs: below the free-space floor it refuses creates
// and parts with a 507 and reports degraded; on a disk full to the last byte, cancel and the
// sweeper still free space; nothing acknowledged is lost; once space returns it takes uploads
// again without a restart. Without a floor, a part that meets a full disk is a 507 too, and
// leaves nothing behind.
func TestDiskFull(t *testing.T) {
	t.Run("below the floor", func(t *testing.T) {
		dir := mountTmpfs(t, 48<<20)
		ts := startServer(t, withStoreIn(dir, 4<<20), withMaxPart(1<<20))
		in := openInspector(t, dir)
		ctx := context.Background()
		u := ts.URL

		// A file to delete, and three uploads: one that will expire (for the sweeper), one to
		// cancel, one to keep.
		fileUpload := idOf(t, postJSON(t, u+"/uploads", keyA, createBody(1<<20)))
		fp := idOf(t, addPart(t, u, keyA, fileUpload, megabyte(7)))
		file := decodeOK[struct {
			File struct{ ID string } `json:"file"`
		}](t, postJSON(t, u+"/uploads/"+fileUpload+"/complete", keyA, map[string]any{"part_ids": []string{fp}})).File.ID
		old := idOf(t, postJSON(t, u+"/uploads", keyA, createBody(4<<20)))
		for i := range 4 {
			idOf(t, addPart(t, u, keyA, old, megabyte(i)))
		}
		ts.clock.Advance(59 * time.Minute)
		doomed := idOf(t, postJSON(t, u+"/uploads", keyA, createBody(12<<20)))
		for i := range 12 {
			idOf(t, addPart(t, u, keyA, doomed, megabyte(i)))
		}
		const keptParts = 24
		kept := idOf(t, postJSON(t, u+"/uploads", keyA, createBody(keptParts<<20)))
		var acked []string
		for i := 0; ; i++ {
			if i == keptParts {
				t.Fatalf("%d parts of 1 MiB fitted on the disk: it never reached the floor", i)
			}
			r := addPart(t, u, keyA, kept, megabyte(i))
			if r.Status != statusOK {
				checkAnswer(t, noRoom, r)
				if r.Header.Get("retry-after") == "" {
					t.Errorf("a 507 without retry-after")
				}
				break
			}
			acked = append(acked, idOf(t, r))
		}
		t.Logf("%d parts acknowledged before the floor", len(acked))
		if got := health(t, ts); got != "degraded" {
			t.Errorf("healthz below the floor: %q, want degraded", got)
		}

		// Full to the last byte, as another program could make it.
		free1 := fillDisk(t, filepath.Join(dir, "filler-1"))
		checkAnswer(t, noRoom, postJSON(t, u+"/uploads", keyA, createBody(1)))
		checkAnswer(t, noRoom, addPart(t, u, keyA, kept, megabyte(99)))
		if r := send(t, rawRequest{method: "POST", url: u + "/uploads/" + doomed + "/cancel", key: keyA}); r.Status != statusOK {
			t.Fatalf("cancel on a full disk: %d %s", r.Status, r.Body)
		}
		if err := ts.store.Settle(ctx); err != nil { // what the background remover does after the answer
			t.Fatalf("settle: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "parts", doomed)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the cancelled upload's parts are still on disk (%v)", err)
		}
		// Full again; the sweeper frees the upload that expired.
		free2 := fillDisk(t, filepath.Join(dir, "filler-2"))
		ts.clock.Advance(2 * time.Minute)
		if n, err := ts.srv.Sweep(ctx); err != nil || n.Uploads != 1 || n.Files != 0 || n.Bytes != 4<<20 {
			t.Fatalf("sweep on a full disk: %+v, %v; want the one expired upload and its 4 MiB", n, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "parts", old)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the expired upload's parts are still on disk (%v)", err)
		}
		// Full once more; deleting a file frees its bytes.
		free3 := fillDisk(t, filepath.Join(dir, "filler-3"))
		if r := send(t, rawRequest{method: "DELETE", url: u + "/files/" + file, key: keyA}); r.Status != statusOK {
			t.Fatalf("delete a file on a full disk: %d %s", r.Status, r.Body)
		}
		if err := ts.store.Settle(ctx); err != nil { // what the background remover does after the answer
			t.Fatalf("settle: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "parts", fileUpload)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the deleted file's parts are still on disk (%v)", err)
		}
		ts.waitIdle(t)
		in.checkInvariants(t, true)

		// Space returns: the server takes uploads again, by itself.
		free1()
		free2()
		free3()
		if got := health(t, ts); got != "ok" {
			t.Errorf("healthz once space returned: %q, want ok", got)
		}
		idOf(t, postJSON(t, u+"/uploads", keyA, createBody(1)))
		// Nothing acknowledged was lost: the kept upload completes with its parts and the rest,
		// and reads back byte for byte.
		h := md5.New()
		parts := append([]string(nil), acked...)
		for i := range keptParts {
			h.Write(megabyte(i))
			if i >= len(acked) {
				parts = append(parts, idOf(t, addPart(t, u, keyA, kept, megabyte(i))))
			}
		}
		sum := hex.EncodeToString(h.Sum(nil))
		done := decodeOK[struct {
			File struct{ ID string } `json:"file"`
		}](t, postJSON(t, u+"/uploads/"+kept+"/complete", keyA, map[string]any{"part_ids": parts, "md5": sum}))
		content := send(t, rawRequest{method: "GET", url: u + "/files/" + done.File.ID + "/content", key: keyA})
		if got := md5.Sum(content.Body); content.Status != statusOK || hex.EncodeToString(got[:]) != sum {
			t.Errorf("the file read back differs: %d, %d bytes", content.Status, len(content.Body))
		}
		ts.waitIdle(t)
		in.checkInvariants(t, true)
	})

	t.Run("no floor", func(t *testing.T) {
		dir := mountTmpfs(t, 32<<20)
		ts := startServer(t, withStoreIn(dir, 0), withMaxPart(1<<20))
		in := openInspector(t, dir)
		u := ts.URL
		other := idOf(t, postJSON(t, u+"/uploads", keyA, createBody(2<<20)))
		for i := range 2 {
			idOf(t, addPart(t, u, keyA, other, megabyte(i)))
		}
		big := idOf(t, postJSON(t, u+"/uploads", keyA, createBody(64<<20)))
		refused := 0
		for i := 0; refused < 3; i++ {
			if i == 64 {
				t.Fatalf("64 parts of 1 MiB fitted on a disk of 32 MiB")
			}
			r := addPart(t, u, keyA, big, megabyte(i))
			if r.Status != statusOK {
				checkAnswer(t, noRoom, r)
				refused++
			}
		}
		ts.waitIdle(t)
		in.checkInvariants(t, true) // every acknowledged part whole, no temporary file left
		if r := send(t, rawRequest{method: "POST", url: u + "/uploads/" + other + "/cancel", key: keyA}); r.Status != statusOK {
			t.Fatalf("cancel on a full disk: %d %s", r.Status, r.Body)
		}
		ts.waitIdle(t)
		in.checkInvariants(t, true)
	})
}
