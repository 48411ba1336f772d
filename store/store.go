// Package store defines how the reference server keeps uploads, parts and files, independently of
// the engine that keeps them.
//
// The state machine of an upload (pending → completed | cancelled, and expiry) is enforced inside
// the store, because only the store can make "check the state, then change it" atomic: a cancel and a
// complete of the same upload that race each other must see exactly one of them win, on one process
// or on many replicas sharing one database. Handlers validate the shape of requests, call the store,
// and turn its errors into API errors; they never read-then-write state themselves.
//
// The embedded default is sqlitestore (SQLite for metadata, the filesystem for bytes). A networked
// backend implements the same interface and passes the same suite, storetest.Run.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Status is the stored status of an upload. Expiry is not stored: an upload whose ExpiresAt has
// passed while it was pending reads as StatusExpired (see Upload.StatusAt).
type Status string

// The statuses of an upload.
const (
	StatusPending   Status = "pending"
	StatusCompleted Status = "completed"
	StatusCancelled Status = "cancelled"
	StatusExpired   Status = "expired"
)

// Upload is an upload as the store keeps it.
type Upload struct {
	ID        string
	Owner     string // who created it (an opaque digest of the API key); others never see it
	Filename  string
	Purpose   string
	MIMEType  string
	Bytes     int64 // the total size declared at create
	CreatedAt int64 // Unix seconds
	ExpiresAt int64 // Unix seconds; CreatedAt + 3600
	// FileExpiresAfter is expires_after.seconds from create, or 0 when not given.
	FileExpiresAfter int64
	Status           Status // never StatusExpired in storage
	FileID           string // set when completed
}

// StatusAt is the status the upload has at Unix time now: a pending upload past its ExpiresAt is
// expired.
func (u Upload) StatusAt(now int64) Status {
	if u.Status == StatusPending && now >= u.ExpiresAt {
		return StatusExpired
	}
	return u.Status
}

// Part is one stored part of an upload.
type Part struct {
	ID        string
	UploadID  string
	Size      int64
	CreatedAt int64
}

// File is the File a completed upload produced. Its content is the upload's parts in the order
// given at completion.
type File struct {
	ID        string
	Owner     string
	UploadID  string
	Filename  string
	Purpose   string
	Bytes     int64
	CreatedAt int64
	ExpiresAt *int64 // nil when the file does not expire
}

// Store keeps uploads, their parts and the files they produce. Implementations are safe for
// concurrent use. Every method that takes an owner treats an object of another owner as absent
// (ErrNotFound). Times are Unix seconds passed in by the caller, so tests control the clock. Ids
// are chosen by the caller, unique, at most 128 characters of ASCII letters, digits, '-' and '_'
// (as the API's own are), so a store may use them in file and object names and refuse others.
type Store interface {
	// CreateUpload records a new pending upload. u is complete: ids and times are set by the caller.
	CreateUpload(ctx context.Context, u Upload) error

	// GetUpload returns an upload of owner, or ErrNotFound.
	GetUpload(ctx context.Context, owner, uploadID string) (Upload, error)

	// AddPart streams data into storage as a new part with the given id and creation time, reading
	// at most maxSize bytes: if data holds more, it fails with ErrPartTooLarge after reading
	// maxSize+1 bytes, and records nothing. The part is recorded only once its bytes are durable,
	// and only if the upload is then pending and not expired at now (else *StateError). A failed
	// or interrupted AddPart leaves nothing behind.
	AddPart(ctx context.Context, owner, uploadID string, p Part, data io.Reader, maxSize, now int64) (Part, error)

	// Complete turns a pending, unexpired upload into a completed one with file f (f.ID,
	// f.CreatedAt and f.ExpiresAt set by the caller; the store fills in the rest from the upload).
	// It checks, in this order: the upload exists (ErrNotFound), is pending and not expired
	// (*StateError), partIDs is non-empty (ErrNoParts), has no duplicate (*PartError with
	// ErrDuplicatePart), names only parts of this upload (*PartError with ErrUnknownPart), the
	// parts add up to the declared size (*SizeError), and, when md5Hex is not empty, that the MD5
	// of the parts in order equals it (*ChecksumError). Either all of it happens or nothing does.
	Complete(ctx context.Context, owner, uploadID string, partIDs []string, md5Hex string, f File, now int64) (Upload, File, error)

	// Cancel turns a pending, unexpired upload into a cancelled one (else ErrNotFound or
	// *StateError) and releases its parts' bytes.
	Cancel(ctx context.Context, owner, uploadID string, now int64) (Upload, error)

	// GetFile returns a file of owner, or ErrNotFound.
	GetFile(ctx context.Context, owner, fileID string) (File, error)

	// OpenFile returns the content of a file of owner, and its size. The caller closes it.
	OpenFile(ctx context.Context, owner, fileID string) (io.ReadCloser, int64, error)

	// SweepExpired releases the part bytes of uploads that expired (pending past ExpiresAt) or were
	// cancelled, and reports how many uploads it swept. Their metadata stays, so they still read as
	// expired or cancelled.
	SweepExpired(ctx context.Context, now int64) (int, error)

	// Close releases the store. Pending work is finished or rolled back first.
	Close() error
}

// Errors a Store returns. Test for them with errors.Is or errors.As.
var (
	ErrNotFound      = errors.New("not found")
	ErrPartTooLarge  = errors.New("part is too large")
	ErrNoParts       = errors.New("part_ids is empty")
	ErrDuplicatePart = errors.New("part is listed more than once")
	ErrUnknownPart   = errors.New("part does not belong to this upload")
)

// StateError says an operation needs a pending upload and the upload is not.
type StateError struct {
	UploadID string
	Status   Status // the status the upload has (StatusExpired when it expired)
	Op       string // "add a part to", "complete", "cancel"
}

func (e *StateError) Error() string {
	return fmt.Sprintf("cannot %s upload %s: it is %s", e.Op, e.UploadID, e.Status)
}

// PartError says what is wrong with one of the part ids given to Complete. It wraps ErrUnknownPart
// or ErrDuplicatePart.
type PartError struct {
	PartID string
	Err    error
}

func (e *PartError) Error() string { return fmt.Sprintf("part %s: %v", e.PartID, e.Err) }
func (e *PartError) Unwrap() error { return e.Err }

// SizeError says the parts given to Complete do not add up to the size declared at create.
type SizeError struct {
	Declared, Got int64
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("the parts hold %d bytes, but the upload was created with bytes=%d", e.Got, e.Declared)
}

// ChecksumError says the MD5 of the parts, in order, is not the one given to Complete.
type ChecksumError struct {
	Want, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("md5 of the uploaded parts is %s, not %s", e.Got, e.Want)
}
