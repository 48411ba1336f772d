package uploads

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ResumeMargin is how long before its expiry a journaled upload is no longer resumed: the parts
// still to send need time, and the client's clock may lag the API's.
const ResumeMargin = 5 * time.Minute

// fingerprintSpan is how many bytes from each end of the source its fingerprint hashes.
const fingerprintSpan = 1 << 20

// journalVersion is the version of the journal's format; a journal of another version is not used.
const journalVersion = 1

// JournalEvent is what UploadFile did with the journal it found at the start (see
// UploadFileParams.Journal).
type JournalEvent struct {
	// Resumed is true when the upload continues from the journal; false when a new upload is
	// started instead, for Reason.
	Resumed bool
	// UploadID is the upload of the journal: the one resumed, or the one given up.
	UploadID string
	// ExpiresAt is when that upload expires, in Unix seconds (zero when the journal is unreadable).
	ExpiresAt int64
	// PartsSent is how many parts the journal records as acknowledged by the API, of Parts.
	PartsSent, Parts int
	// Reason says why the journal was not used; empty when Resumed.
	Reason string
}

// journalHeader is the first record of a journal: the upload and what it is an upload of.
type journalHeader struct {
	Version      int     `json:"v"`
	UploadID     string  `json:"upload_id"`
	CreatedAt    int64   `json:"created_at"`
	ExpiresAt    int64   `json:"expires_at"`
	Filename     string  `json:"filename"`
	Purpose      Purpose `json:"purpose"`
	MIMEType     string  `json:"mime_type"`
	ExpiresAfter int64   `json:"expires_after_seconds,omitempty"`
	PartSize     int64   `json:"part_size"`
	Source       source  `json:"source"`
}

// source is the identity of what is uploaded: enough to tell, cheaply, that a file changed.
type source struct {
	// Path is the absolute path of a file; empty for a reader.
	Path string `json:"path,omitempty"`
	// Size is its size in bytes.
	Size int64 `json:"size"`
	// ModTime is the modification time of a file, in Unix nanoseconds; zero for a reader.
	ModTime int64 `json:"mtime_ns,omitempty"`
	// Fingerprint is the SHA-256, in hex, of the first and the last MiB (the whole when smaller).
	Fingerprint string `json:"fingerprint"`
}

// journalPart is a record of a part the API acknowledged.
type journalPart struct {
	Index int    `json:"i"`
	ID    string `json:"id"`
}

// fingerprint hashes the first and the last fingerprintSpan bytes of r.
func fingerprint(r io.ReaderAt, size int64) (string, error) {
	h := sha256.New()
	head := min(size, fingerprintSpan)
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, head)); err != nil {
		return "", fmt.Errorf("fingerprint the input: %w", err)
	}
	if size > head {
		tail := min(size-head, fingerprintSpan)
		if _, err := io.Copy(h, io.NewSectionReader(r, size-tail, tail)); err != nil {
			return "", fmt.Errorf("fingerprint the input: %w", err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// The journal is a file of records, each a 4-byte big-endian length, the 4-byte CRC-32C of the
// payload, then the payload (JSON): the header first, then one record per acknowledged part. It
// is created whole (written to a temporary file, synced, renamed) and then only appended to, each
// record synced before the part counts as recorded. A write torn by a crash leaves a last record
// whose length or checksum does not hold: reading stops there, so a torn record is never taken
// for an entry, and costs at most the part it was recording, which is sent again.

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func appendRecord(buf []byte, v any) ([]byte, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(payload)))
	buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(payload, crcTable))
	return append(buf, payload...), nil
}

// parseJournal reads the header and the parts of a journal, stopping at the first torn record.
func parseJournal(data []byte) (journalHeader, map[int]string, error) {
	var (
		head  journalHeader
		parts = map[int]string{}
	)
	for n := 0; len(data) > 0; n++ {
		if len(data) < 8 {
			break
		}
		size := binary.BigEndian.Uint32(data)
		sum := binary.BigEndian.Uint32(data[4:])
		if uint64(size) > uint64(len(data)-8) {
			break
		}
		payload := data[8 : 8+size]
		if crc32.Checksum(payload, crcTable) != sum {
			break
		}
		data = data[8+size:]
		if n == 0 {
			if err := json.Unmarshal(payload, &head); err != nil {
				return head, nil, fmt.Errorf("its header does not decode: %w", err)
			}
			if head.Version != journalVersion {
				return head, nil, fmt.Errorf("it is of version %d, not %d", head.Version, journalVersion)
			}
			if head.UploadID == "" || head.PartSize < 1 || head.Source.Size < 1 {
				return head, nil, errors.New("its header is incomplete")
			}
			continue
		}
		var p journalPart
		if err := json.Unmarshal(payload, &p); err != nil || p.ID == "" || p.Index < 0 ||
			int64(p.Index) >= (head.Source.Size+head.PartSize-1)/head.PartSize {
			break
		}
		parts[p.Index] = p.ID
	}
	if head.Version == 0 {
		return head, nil, errors.New("it holds no whole header (a write was torn, or it is not a journal)")
	}
	return head, parts, nil
}

// journal is an open journal, appended to as parts are acknowledged.
type journal struct {
	path string
	mu   sync.Mutex
	f    *os.File
	sync func(*os.File) error // (*os.File).Sync but in tests
}

// createJournal writes a journal holding head and parts, replacing any at path, and opens it for
// appending.
func createJournal(path string, head journalHeader, parts map[int]string) (*journal, error) {
	return createJournalWith(path, head, parts, (*os.File).Sync)
}

// createJournalWith is createJournal with the way files are made durable given: syncFile syncs
// the journal's file, the directory after the rename, and each record appended later.
func createJournalWith(path string, head journalHeader, parts map[int]string, syncFile func(*os.File) error) (*journal, error) {
	buf, err := appendRecord(nil, head)
	if err != nil {
		return nil, err
	}
	for i := range int((head.Source.Size + head.PartSize - 1) / head.PartSize) {
		if id, ok := parts[i]; ok {
			if buf, err = appendRecord(buf, journalPart{Index: i, ID: id}); err != nil {
				return nil, err
			}
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, err = tmp.Write(buf)
	if err == nil {
		err = syncFile(tmp)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = syncFile(d) // makes the rename durable where the system allows it
		_ = d.Close()
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &journal{path: path, f: f, sync: syncFile}, nil
}

// record appends an acknowledged part and syncs it to disk.
func (j *journal) record(index int, id string) error {
	buf, err := appendRecord(nil, journalPart{Index: index, ID: id})
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(buf); err != nil {
		return fmt.Errorf("journal: record part %d: %w", index+1, err)
	}
	if err := j.sync(j.f); err != nil {
		return fmt.Errorf("journal: record part %d: %w", index+1, err)
	}
	return nil
}

func (j *journal) close() { _ = j.f.Close() }

// remove closes and deletes the journal: its upload is completed or cancelled.
func (j *journal) remove() {
	j.close()
	_ = os.Remove(j.path)
}

// resumePlan is what a journal found at the start leaves to do.
type resumePlan struct {
	up    *Upload
	parts map[int]string
}

// openJournal reads the journal at p.Journal and checks that it applies to this upload of src.
// It returns the plan to resume, or nil with the event that says why not (nil when there is no
// journal); a journal that does not apply is removed.
func openJournal(ctx context.Context, c *Client, p UploadFileParams, want journalHeader, now time.Time) (*resumePlan, *JournalEvent, error) {
	data, err := os.ReadFile(p.Journal)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	head, parts, err := parseJournal(data)
	total := int((want.Source.Size + want.PartSize - 1) / want.PartSize)
	ev := &JournalEvent{UploadID: head.UploadID, ExpiresAt: head.ExpiresAt, PartsSent: len(parts), Parts: total}
	reason := ""
	switch have := head.Source; {
	case err != nil:
		ev.UploadID, ev.ExpiresAt, ev.PartsSent = "", 0, 0
		reason = "the journal is unreadable: " + err.Error()
	case have.Path != want.Source.Path:
		reason = fmt.Sprintf("the journal is of another file (%s)", have.Path)
	case have.Size != want.Source.Size:
		reason = fmt.Sprintf("the file changed: it is %d bytes, was %d", want.Source.Size, have.Size)
	case have.ModTime != want.Source.ModTime:
		reason = fmt.Sprintf("the file changed: it was modified at %s, was at %s",
			time.Unix(0, want.Source.ModTime).UTC().Format(time.RFC3339Nano), time.Unix(0, have.ModTime).UTC().Format(time.RFC3339Nano))
	case have.Fingerprint != want.Source.Fingerprint:
		reason = "the file changed: its first or last MiB differs"
	case head.PartSize != want.PartSize:
		reason = fmt.Sprintf("the part size is %d bytes, was %d", want.PartSize, head.PartSize)
	case head.Filename != want.Filename || head.Purpose != want.Purpose || head.MIMEType != want.MIMEType || head.ExpiresAfter != want.ExpiresAfter:
		reason = fmt.Sprintf("the upload was created as %q for %s (%s, expires after %ds), not as asked now", head.Filename, head.Purpose, head.MIMEType, head.ExpiresAfter)
	case time.Unix(head.ExpiresAt, 0).Add(-ResumeMargin).Before(now):
		reason = fmt.Sprintf("upload %s expires at %s, too soon to resume", head.UploadID, time.Unix(head.ExpiresAt, 0).UTC().Format(time.RFC3339))
	}
	if reason == "" {
		ev.Resumed = true
		up := &Upload{ID: head.UploadID, CreatedAt: head.CreatedAt, ExpiresAt: head.ExpiresAt, Filename: head.Filename,
			Bytes: head.Source.Size, Purpose: head.Purpose, Status: UploadStatusPending}
		return &resumePlan{up: up, parts: parts}, ev, nil
	}
	ev.Reason = reason
	if err == nil {
		abandon(ctx, c, head.UploadID, head.ExpiresAt, now)
	}
	_ = os.Remove(p.Journal)
	return nil, ev, nil
}

// abandon cancels the upload of a journal that does not apply, if it may still be pending, so
// that its parts are freed before it expires. It is only a courtesy: failures are ignored.
func abandon(ctx context.Context, c *Client, uploadID string, expiresAt int64, now time.Time) {
	if !time.Unix(expiresAt, 0).After(now) {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
	defer cancel()
	_, _ = c.Cancel(cctx, uploadID)
}

// gone says whether err is the API refusing an upload because it expired or was cancelled: the
// upload of a journal can no longer be resumed, and a new one is needed.
func gone(err error) (UploadStatus, bool) {
	status, _ := refusedAsAlready(err)
	return status, status == UploadStatusExpired || status == UploadStatusCancelled
}

// resumable says whether the failure err leaves an upload worth keeping for a resume: anything
// but the API refusing the request for good (a 4xx other than 408, 409 and 429).
func resumable(err error) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return true
	}
	switch code := apiErr.StatusCode; {
	case code == http.StatusRequestTimeout, code == http.StatusConflict, code == http.StatusTooManyRequests:
		return true
	case code >= 400 && code < 500:
		return false
	}
	return true
}

// uploadJournaled is UploadReaderAt with a journal: it resumes the journal's upload when the
// journal applies, and otherwise starts a new one, recording each acknowledged part.
func (c *Client) uploadJournaled(ctx context.Context, r io.ReaderAt, create CreateParams, partSize int64, concurrency int,
	p UploadFileParams, src source) (*Upload, error) {
	op := "upload " + p.Filename
	size := create.Bytes
	fp, err := fingerprint(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	src.Size, src.Fingerprint = size, fp
	want := journalHeader{Version: journalVersion, Filename: create.Filename, Purpose: create.Purpose, MIMEType: create.MIMEType,
		ExpiresAfter: int64(create.ExpiresAfter / time.Second), PartSize: partSize, Source: src}
	plan, ev, err := openJournal(ctx, c, p, want, c.now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	tell := func(ev JournalEvent) {
		if p.OnJournal != nil {
			p.OnJournal(ev)
		}
	}
	if ev != nil {
		tell(*ev)
	}
	for {
		var (
			up   *Upload
			have map[int]string
		)
		if plan != nil {
			up, have = plan.up, plan.parts
		} else if up, err = c.Create(ctx, create); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		head := want
		head.UploadID, head.CreatedAt, head.ExpiresAt = up.ID, up.CreatedAt, up.ExpiresAt
		j, err := createJournalWith(p.Journal, head, have, c.syncFile)
		if err != nil {
			if plan != nil {
				// The upload stays pending; the old journal, if still there, still describes it.
				return nil, &UploadError{UploadID: up.ID, Filename: p.Filename, Err: err, Status: UploadStatusPending, ExpiresAt: up.ExpiresAt}
			}
			return c.afterFailure(ctx, up, size, p, false, err)
		}
		done, uncertain, err := c.sendAndComplete(ctx, up, r, size, partSize, concurrency, p, have, j.record)
		if err == nil {
			j.remove()
			return done, nil
		}
		if plan != nil {
			why := ""
			if status, ok := gone(err); ok {
				why = fmt.Sprintf("upload %s is %s", up.ID, status)
			} else if IsNotFound(err) {
				why = fmt.Sprintf("upload %s is unknown to the API", up.ID)
			}
			if why != "" {
				j.remove()
				tell(JournalEvent{UploadID: up.ID, ExpiresAt: up.ExpiresAt, PartsSent: len(have),
					Parts: int((size + partSize - 1) / partSize), Reason: why})
				plan = nil
				continue
			}
		}
		if resumable(err) && !uncertain && !errors.Is(err, ErrCompletedEarlier) {
			j.close()
			return nil, &UploadError{UploadID: up.ID, Filename: p.Filename, Err: err, Status: UploadStatusPending, ExpiresAt: up.ExpiresAt, Kept: true}
		}
		j.close()
		done, err = c.afterFailure(ctx, up, size, p, uncertain, err)
		var upErr *UploadError
		if err == nil || (errors.As(err, &upErr) && upErr.Status != UploadStatusPending && upErr.Status != "") {
			_ = os.Remove(p.Journal)
		}
		return done, err
	}
}
