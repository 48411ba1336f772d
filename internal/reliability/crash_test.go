//go:build unix

package reliability

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// plannedPart is a part a test means to send, and what became of it.
type plannedPart struct {
	upload int
	data   []byte
	status int    // the answer to the last attempt (0: none, the connection died)
	id     string // the part id of a 200
}

// partData is n bytes that differ for every (upload, part) pair.
func partData(upload, part, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{byte(upload), byte(part), 7}).Read(b)
	return b
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// throttled reads r at most 16 KiB at a time, waiting 2 ms before each read, so that a part of a
// few hundred KiB is still on its way tens of milliseconds after it started.
type throttled struct{ r io.Reader }

func (t throttled) Read(p []byte) (int, error) {
	time.Sleep(2 * time.Millisecond)
	return t.r.Read(p[:min(len(p), 16<<10)])
}

// sendPart sends data as a part of upload, its body throttled when slow is set, and returns the
// status (0 when the connection failed) and the part id of a 200.
func sendPart(client *http.Client, base, uploadID string, data []byte, slow bool) (int, string) {
	ct, body, length := fileForm("part.bin", bytes.NewReader(data), int64(len(data)))
	if slow {
		body = throttled{body}
	}
	req, _ := http.NewRequest("POST", base+"/uploads/"+uploadID+"/parts", body)
	req.ContentLength = length
	req.Header.Set("Authorization", "Bearer "+keyA)
	req.Header.Set("Content-Type", ct)
	resp, err := client.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp.StatusCode, ""
	}
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return 0, ""
	}
	return http.StatusOK, p.ID
}

// TestCrashDuringParts kills the built server with SIGKILL while parts stream in over slow
// connections, restarts it on the same directory, and checks: it starts cleanly; every part that
// got a 200 is recorded and byte-identical; every recorded part is whole (one of the parts sent,
// never a piece of one); no temporary file is left; and every upload then completes, with its
// parts, into a file that downloads byte-identical.
func TestCrashDuringParts(t *testing.T) {
	bin := buildServer(t)
	dir := t.TempDir()
	first := startBinary(t, bin, dir)

	const uploads, partsEach = 10, 2
	var planned []*plannedPart
	ids := make([]string, uploads)
	for i := range uploads {
		var total int
		for j := range partsEach {
			p := &plannedPart{upload: i, data: partData(i, j, 256<<10+i*1000+j*333)}
			planned = append(planned, p)
			total += len(p.data)
		}
		ids[i] = idOf(t, postJSON(t, first.URL+"/uploads", keyA, createBody(int64(total))))
	}

	// Send every part slowly, the starts staggered; kill the server once a third got their 200.
	client := &http.Client{}
	var mu sync.Mutex
	var oks int
	enough := make(chan struct{})
	var wg sync.WaitGroup
	for k, p := range planned {
		wg.Go(func() {
			time.Sleep(time.Duration(k) * 10 * time.Millisecond)
			status, id := sendPart(client, first.URL, ids[p.upload], p.data, true)
			mu.Lock()
			defer mu.Unlock()
			p.status, p.id = status, id
			if status == http.StatusOK {
				if oks++; oks == len(planned)/3 {
					close(enough)
				}
			}
		})
	}
	select {
	case <-enough:
	case <-time.After(60 * time.Second):
		t.Fatal("a third of the parts did not get their 200 within 60s")
	}
	first.kill(t)
	wg.Wait()
	var cut int
	for _, p := range planned {
		if p.status == 0 {
			cut++
		}
	}
	t.Logf("killed with %d of %d parts answered 200 and %d cut off", oks, len(planned), cut)

	second := startBinary(t, bin, dir)
	in := openInspector(t, dir)
	in.checkInvariants(t, true)

	// Every recorded part is one of those sent, whole; every 200 is among them.
	bySum := map[string]*plannedPart{}
	for _, p := range planned {
		bySum[sum(p.data)] = p
	}
	recorded := map[*plannedPart]string{} // part → its recorded id
	for _, row := range in.strings(t, `SELECT upload_id || '/' || id FROM parts`) {
		b, err := os.ReadFile(filepath.Join(dir, "parts", row))
		if err != nil {
			t.Errorf("recorded part %s: %v", row, err)
			continue
		}
		p, ok := bySum[sum(b)]
		if !ok || ids[p.upload] != filepath.Dir(row) {
			t.Errorf("recorded part %s (%d bytes) is not any part sent to its upload: a partial part is visible", row, len(b))
			continue
		}
		recorded[p] = filepath.Base(row)
	}
	for _, p := range planned {
		if p.status == http.StatusOK && recorded[p] != p.id {
			t.Errorf("part %s of upload %d got a 200 but after the crash it is not recorded with its bytes (found %q)", p.id, p.upload, recorded[p])
		}
	}

	// Each upload completes with the parts that survived plus those sent again, and downloads whole.
	for i := range uploads {
		var partIDs []string
		var whole []byte
		for _, p := range planned {
			if p.upload != i {
				continue
			}
			id := recorded[p]
			if id == "" {
				status, newID := sendPart(client, second.URL, ids[i], p.data, false)
				if status != http.StatusOK {
					t.Fatalf("resend a part of upload %d after the restart: %d", i, status)
				}
				id = newID
			}
			partIDs = append(partIDs, id)
			whole = append(whole, p.data...)
		}
		completeAndDownload(t, second.URL, ids[i], partIDs, whole)
	}
	in.checkInvariants(t, true)
	second.checkCleanLog(t)
}

// completeAndDownload completes an upload with partIDs, giving the MD5 of whole, and checks that
// its file downloads as whole.
func completeAndDownload(t *testing.T, base, uploadID string, partIDs []string, whole []byte) {
	t.Helper()
	m := md5.Sum(whole)
	r := postJSON(t, base+"/uploads/"+uploadID+"/complete", keyA, map[string]any{"part_ids": partIDs, "md5": hex.EncodeToString(m[:])})
	done := decodeOK[struct {
		Status string `json:"status"`
		File   struct {
			ID string `json:"id"`
		} `json:"file"`
	}](t, r)
	if done.Status != "completed" {
		t.Fatalf("complete %s: status %q", uploadID, done.Status)
	}
	checkDownload(t, base, done.File.ID, whole)
}

// checkDownload fails unless file fileID downloads as want.
func checkDownload(t *testing.T, base, fileID string, want []byte) {
	t.Helper()
	r := send(t, rawRequest{method: "GET", url: base + "/files/" + fileID + "/content", key: keyA})
	if r.Status != http.StatusOK || !bytes.Equal(r.Body, want) {
		t.Errorf("download %s: %d, %d bytes (sha %s), want 200 and %d bytes (sha %s)",
			fileID, r.Status, len(r.Body), sum(r.Body)[:12], len(want), sum(want)[:12])
	}
}

// TestCrashDuringCompletion kills the built server with SIGKILL as soon as it has received a
// burst of completions (each checking the MD5 of 8 MiB, so still at work) and of cancels racing
// some of them, restarts it on the same directory, and checks: it starts cleanly; an upload whose
// completion got a 200 is completed and its file downloads byte-identical; one whose cancel got a
// 200 is cancelled; none is both; one still pending keeps whole parts and completes now.
func TestCrashDuringCompletion(t *testing.T) {
	bin := buildServer(t)
	dir := t.TempDir()
	first := startBinary(t, bin, dir)
	client := &http.Client{}

	const uploads, partsEach, partSize = 6, 4, 2 << 20
	type upload struct {
		id       string
		partIDs  []string
		whole    []byte
		complete int // status of the completion (0: cut off)
		cancel   int // status of the cancel, for the uploads that also get one
		fileID   string
	}
	ups := make([]*upload, uploads)
	for i := range ups {
		u := &upload{}
		u.id = idOf(t, postJSON(t, first.URL+"/uploads", keyA, createBody(partsEach*partSize)))
		for j := range partsEach {
			data := partData(100+i, j, partSize)
			status, id := sendPart(client, first.URL, u.id, data, false)
			if status != http.StatusOK {
				t.Fatalf("add part: %d", status)
			}
			u.partIDs = append(u.partIDs, id)
			u.whole = append(u.whole, data...)
		}
		ups[i] = u
	}

	var wg sync.WaitGroup
	var written sync.WaitGroup
	for i, u := range ups {
		m := md5.Sum(u.whole)
		body := `{"part_ids":["` + strings.Join(u.partIDs, `","`) + `"],"md5":"` + hex.EncodeToString(m[:]) + `"}`
		written.Add(1)
		wg.Go(func() {
			u.complete, u.fileID = postTraced(client, first.URL+"/uploads/"+u.id+"/complete", body, written.Done)
		})
		if i%2 == 0 {
			written.Add(1)
			wg.Go(func() { u.cancel, _ = postTraced(client, first.URL+"/uploads/"+u.id+"/cancel", "", written.Done) })
		}
	}
	written.Wait()
	first.kill(t)
	wg.Wait()

	second := startBinary(t, bin, dir)
	in := openInspector(t, dir)
	in.checkInvariants(t, true)
	var answered int
	for i, u := range ups {
		status := in.strings(t, `SELECT status FROM uploads WHERE id = ?`, u.id)
		if len(status) != 1 {
			t.Fatalf("upload %d is gone after the crash", i)
		}
		cancel := "not sent"
		if i%2 == 0 {
			cancel = statusText(u.cancel)
		}
		t.Logf("upload %d: complete %s, cancel %s, now %s", i, statusText(u.complete), cancel, status[0])
		if u.complete == http.StatusOK || u.cancel == http.StatusOK {
			answered++
		}
		switch {
		case u.complete == http.StatusOK && u.cancel == http.StatusOK:
			t.Errorf("upload %d: both its completion and its cancel got a 200", i)
		case u.complete == http.StatusOK && status[0] != "completed":
			t.Errorf("upload %d: its completion got a 200 but it is %s after the crash", i, status[0])
		case u.cancel == http.StatusOK && status[0] != "cancelled":
			t.Errorf("upload %d: its cancel got a 200 but it is %s after the crash", i, status[0])
		}
		switch status[0] {
		case "completed":
			fileID := in.strings(t, `SELECT file_id FROM uploads WHERE id = ?`, u.id)[0]
			if u.fileID != "" && u.fileID != fileID {
				t.Errorf("upload %d: completed into %s, the answer said %s", i, fileID, u.fileID)
			}
			checkDownload(t, second.URL, fileID, u.whole)
		case "pending":
			completeAndDownload(t, second.URL, u.id, u.partIDs, u.whole)
		case "cancelled":
			if n := in.strings(t, `SELECT id FROM parts WHERE upload_id = ?`, u.id); len(n) != 0 {
				t.Errorf("upload %d is cancelled but keeps parts %v", i, n)
			}
		}
	}
	t.Logf("killed with %d of %d uploads answered", answered, uploads)
	in.checkInvariants(t, true)
	second.checkCleanLog(t)
}

// postTraced posts a JSON body (none when empty) with key A, calls written once the request is
// sent (or failed), and returns the status (0 when cut off) and, for a completion, the file id.
func postTraced(client *http.Client, url, body string, written func()) (int, string) {
	var once sync.Once
	done := func() { once.Do(written) }
	defer done()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, _ := http.NewRequest("POST", url, rd)
	req.Header.Set("Authorization", "Bearer "+keyA)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { done() },
	}))
	resp, err := client.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, ""
	}
	var u struct {
		File struct {
			ID string `json:"id"`
		} `json:"file"`
	}
	_ = json.Unmarshal(b, &u)
	return resp.StatusCode, u.File.ID
}
