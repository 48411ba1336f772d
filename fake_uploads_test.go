package uploads

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// fakeUploads is a small stand-in for the Uploads API that keeps one upload's parts in memory, so
// the UploadFile tests can check the reassembled bytes and inject failures. partHook, when set,
// runs before a part is stored; when it returns false the part is refused with a 500.
type fakeUploads struct {
	t        *testing.T
	mu       sync.Mutex
	created  CreateParams
	expires  int64
	parts    map[string][]byte
	nextPart int
	file     []byte
	md5      string
	cancels  int
	status   UploadStatus
	inFlight int
	maxPar   int
	partHook func(r *http.Request) bool
}

const fakeUploadID = "upload_0123456789abcdef0123456789abcdef"

func (f *fakeUploads) handler(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/uploads":
		var req struct {
			Filename     string `json:"filename"`
			Purpose      string `json:"purpose"`
			Bytes        int64  `json:"bytes"`
			MIMEType     string `json:"mime_type"`
			ExpiresAfter *struct {
				Seconds int64 `json:"seconds"`
			} `json:"expires_after"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			f.t.Errorf("create: %v", err)
		}
		f.mu.Lock()
		f.created = CreateParams{Filename: req.Filename, Purpose: Purpose(req.Purpose), Bytes: req.Bytes, MIMEType: req.MIMEType}
		if req.ExpiresAfter != nil {
			f.expires = req.ExpiresAfter.Seconds
		}
		f.parts = map[string][]byte{}
		f.status = UploadStatusPending
		body := f.uploadJSON()
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, body)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/uploads/"+fakeUploadID+"/parts":
		f.addPart(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/uploads/"+fakeUploadID+"/complete":
		var req struct {
			PartIDs []string `json:"part_ids"`
			MD5     string   `json:"md5"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			f.t.Errorf("complete: %v", err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		var file []byte
		for _, id := range req.PartIDs {
			file = append(file, f.parts[id]...)
		}
		sum := md5.Sum(file)
		if int64(len(file)) != f.created.Bytes || (req.MD5 != "" && req.MD5 != hex.EncodeToString(sum[:])) {
			writeJSON(w, http.StatusBadRequest, []byte(`{"error":{"message":"bytes or md5 do not match","type":"invalid_request_error","param":null,"code":null}}`))
			return
		}
		f.file, f.md5, f.status = file, req.MD5, UploadStatusCompleted
		writeJSON(w, http.StatusOK, f.uploadJSON())
	case r.Method == http.MethodPost && r.URL.Path == "/v1/uploads/"+fakeUploadID+"/cancel":
		f.mu.Lock()
		defer f.mu.Unlock()
		f.cancels++
		f.status = UploadStatusCancelled
		writeJSON(w, http.StatusOK, f.uploadJSON())
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		writeJSON(w, http.StatusNotFound, []byte(`{"error":{"message":"no route","type":"invalid_request_error","param":null,"code":null}}`))
	}
}

func (f *fakeUploads) addPart(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.inFlight++
	f.maxPar = max(f.maxPar, f.inFlight)
	hook := f.partHook
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	if hook != nil && !hook(r) {
		io.Copy(io.Discard, r.Body)
		writeJSON(w, http.StatusInternalServerError, errorBody(500))
		return
	}
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		f.t.Errorf("part content type: %v", err)
		return
	}
	p, err := multipart.NewReader(r.Body, params["boundary"]).NextPart()
	if err != nil {
		f.t.Errorf("part: %v", err)
		return
	}
	data, err := io.ReadAll(p)
	if err != nil {
		return // the client went away
	}
	f.mu.Lock()
	f.nextPart++
	id := fmt.Sprintf("part_%032d", f.nextPart)
	f.parts[id] = data
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, []byte(`{"id":"`+id+`","object":"upload.part","created_at":1758145150,"upload_id":"`+fakeUploadID+`"}`))
}

// uploadJSON is the upload as the API shows it. The caller holds f.mu.
func (f *fakeUploads) uploadJSON() []byte {
	u := map[string]any{
		"id": fakeUploadID, "object": "upload", "bytes": f.created.Bytes, "created_at": 1758145015,
		"expires_at": 1758148615, "filename": f.created.Filename, "purpose": string(f.created.Purpose), "status": string(f.status),
	}
	if f.status == UploadStatusCompleted {
		u["file"] = map[string]any{
			"object": "file", "id": "file-RRx32Mws4VZG3ZUnsU6Dvf", "purpose": string(f.created.Purpose),
			"filename": f.created.Filename, "bytes": len(f.file), "created_at": 1758145015,
			"expires_at": nil, "status": "processed", "status_details": nil,
		}
	}
	b, _ := json.Marshal(u)
	return b
}

func (f *fakeUploads) snapshot() (file []byte, md5 string, cancels int, status UploadStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.file, f.md5, f.cancels, f.status
}

// countPaths counts the requests whose path ends in suffix.
func countPaths(reqs []exchange, suffix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}
