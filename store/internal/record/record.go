// Package record holds what the stores that keep uploads as database rows share: the states of an
// upload's part bytes (the uploads.bytes_state column of both schemas), the status a stored upload
// reads as, and the checks a new upload and its ids pass before anything is written.
package record

import (
	"fmt"

	"github.com/uploadkit/uploads/store"
)

// BytesLive, BytesReleasing and BytesReleased are the values of uploads.bytes_state: what became
// of an upload's part bytes. Parts are accepted only while it is BytesLive; BytesReleasing means
// no part can be added and the bytes may remain; BytesReleased means they are gone.
const (
	BytesLive      = 0
	BytesReleasing = 1
	BytesReleased  = 2
)

// Upload is an upload row: the public fields and the state of its part bytes.
type Upload struct {
	store.Upload
	BytesState int16
}

// UploadColumns are the columns of an uploads row that ScanTargets receives, in its order; both
// database stores share the schema of that table.
const UploadColumns = `id, owner, filename, purpose, mime_type, bytes, created_at, expires_at,
	file_expires_after, status, COALESCE(file_id, ''), bytes_state`

// ScanTargets are the destinations for a row of UploadColumns, for database Scan methods.
func (u *Upload) ScanTargets() []any {
	return []any{&u.ID, &u.Owner, &u.Filename, &u.Purpose, &u.MIMEType, &u.Bytes,
		&u.CreatedAt, &u.ExpiresAt, &u.FileExpiresAfter, &u.Status, &u.FileID, &u.BytesState}
}

// StatusAt is the status the upload has at Unix time now, the one rule every store reports: a
// pending upload is expired from its ExpiresAt on, and also once its bytes were released (a
// sweeper found it expired on its own clock), whatever now says.
func (u Upload) StatusAt(now int64) store.Status {
	if u.Status == store.StatusPending && (now >= u.ExpiresAt || u.BytesState != BytesLive) {
		return store.StatusExpired
	}
	return u.Status
}

// At is the upload as a store reports it at now: its status is StatusAt(now).
func (u Upload) At(now int64) store.Upload {
	out := u.Upload
	out.Status = u.StatusAt(now)
	return out
}

// NewFile is the File that completing u at now creates with id fileID: named and sized after the
// upload, expiring FileExpiresAfter seconds after now when that is set.
func (u Upload) NewFile(fileID string, now int64) store.File {
	f := store.File{ID: fileID, Owner: u.Owner, UploadID: u.ID, Filename: u.Filename, Purpose: u.Purpose,
		Bytes: u.Bytes, CreatedAt: now}
	if u.FileExpiresAfter > 0 {
		at := now + u.FileExpiresAfter
		f.ExpiresAt = &at
	}
	return f
}

// Live reports whether a file that expires at expiresAt (nil: never) still exists at now.
func Live(expiresAt *int64, now int64) bool {
	return expiresAt == nil || now < *expiresAt
}

// StateError is the *store.StateError for op on an upload that is not pending at now, or nil if
// it is.
func (u Upload) StateError(op string, now int64) error {
	if st := u.StatusAt(now); st != store.StatusPending {
		return &store.StateError{UploadID: u.ID, Status: st, Op: op}
	}
	return nil
}

// CheckNew returns u as CreateUpload records it (an empty Status taken as pending), or an error if
// u is not a new upload: any other status, a file, or an id ValidID refuses.
func CheckNew(u store.Upload) (store.Upload, error) {
	if u.Status == "" {
		u.Status = store.StatusPending
	}
	if u.Status != store.StatusPending {
		return u, fmt.Errorf("create upload %s: a new upload must be pending, not %q", u.ID, u.Status)
	}
	if u.FileID != "" {
		return u, fmt.Errorf("create upload %s: a new upload has no file", u.ID)
	}
	if !ValidID(u.ID) {
		return u, fmt.Errorf("create upload %q: the id may hold only letters, digits, '-' and '_'", u.ID)
	}
	return u, nil
}

// ValidID reports whether id is one store.Store accepts, so that it can name a file, a directory
// or part of an object key as it is: non-empty, at most 128 characters, and made only of ASCII
// letters, digits, '-' and '_'.
func ValidID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
