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

// Status is the status of an upload. Expiry is not stored: a store reports an upload that expired
// while it was pending (its ExpiresAt passed, or a sweep released its parts) as StatusExpired.
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
	// FileExpiresAfter is how many seconds after its creation the File of this upload expires, or
	// 0 when it never does. Complete derives the File's ExpiresAt from it.
	FileExpiresAfter int64
	// Status is the status at the time given to the method that returned the upload: a store
	// reports StatusExpired, which it never stores, for a pending upload past ExpiresAt or whose
	// parts were released. CreateUpload takes a pending one.
	Status Status
	FileID string // set when completed
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

// FileQuery selects a page of ListFiles.
type FileQuery struct {
	Purpose string // only files with this purpose; "" for all
	Limit   int    // the most files the page holds, at least 1
	Desc    bool   // newest first; else oldest first
	After   string // when not empty, a file ID: the page starts with the file that follows it
}

// Store keeps uploads, their parts and the files they produce. Implementations are safe for
// concurrent use. Every method that takes an owner treats an object of another owner as absent
// (ErrNotFound). Times are Unix seconds passed in by the caller as now, so tests control the
// clock; a store decides what now means for an object (expired or not) and reports the outcome.
// AddPart and Complete, which may take long (streaming a part, reading parts for their MD5), take
// a Clock instead and read it again when they commit.
// Ids are chosen by the caller, unique, at most 128 characters of ASCII letters, digits, '-' and
// '_' (as the API's own are), so a store may use them in file and object names and refuse others.
type Store interface {
	// CreateUpload records a new pending upload. u is complete: ids and times are set by the caller.
	CreateUpload(ctx context.Context, u Upload) error

	// GetUpload returns an upload of owner, with its status at now, or ErrNotFound.
	GetUpload(ctx context.Context, owner, uploadID string, now int64) (Upload, error)

	// AddPart streams data into storage as part partID of the upload, reading at most lim.MaxPart
	// bytes: if data holds more, it fails with ErrPartTooLarge after reading lim.MaxPart+1 bytes,
	// and records nothing. The upload is checked before the first byte is read, and the part is
	// recorded only once its bytes are durable, and only if then, at the time now reads when the
	// part is recorded (its CreatedAt), the upload is still pending (else *StateError) and the part
	// keeps within lim (else *UploadFullError or *QuotaError). A failed or interrupted AddPart
	// leaves nothing behind. A store that runs out of room fails with an error wrapping ErrNoSpace.
	AddPart(ctx context.Context, owner, uploadID, partID string, data io.Reader, lim Limits, now Clock) (Part, error)

	// Complete turns a pending upload into a completed one whose File, fileID, is created at the
	// time now reads when the upload is completed, and expires FileExpiresAfter seconds later
	// (never, when that is 0); the store fills in the rest of the File from the upload. It checks,
	// in this order: the upload exists (ErrNotFound), is pending (*StateError), partIDs is
	// non-empty (ErrNoParts), has no duplicate (*PartError with ErrDuplicatePart), names only parts
	// of this upload (*PartError with ErrUnknownPart), the parts add up to the declared size
	// (*SizeError), and, when md5Hex is not empty, that the MD5 of the parts in order equals it
	// (*ChecksumError). Whether the upload is pending is decided again, at the time now reads
	// then, when the completion is committed: reading the parts for their MD5 can take long.
	// Either all of it happens or nothing does.
	Complete(ctx context.Context, owner, uploadID string, partIDs []string, md5Hex, fileID string, now Clock) (Upload, File, error)

	// Cancel turns an upload pending at now into a cancelled one (else ErrNotFound or
	// *StateError) and releases its parts' bytes.
	Cancel(ctx context.Context, owner, uploadID string, now int64) (Upload, error)

	// GetFile returns a file of owner that has not expired at now, or ErrNotFound.
	GetFile(ctx context.Context, owner, fileID string, now int64) (File, error)

	// OpenFile returns a file of owner that has not expired at now, and its content (File.Bytes
	// long), or ErrNotFound. The caller closes the content.
	OpenFile(ctx context.Context, owner, fileID string, now int64) (File, io.ReadCloser, error)

	// ListFiles returns one page of the files of owner that exist at now (neither deleted nor
	// expired), as q selects them, and whether more follow. Files are ordered by CreatedAt, and
	// files created in the same second by ID, both ascending or both descending, so a listing
	// that goes on after the last file of each page never repeats or skips a file that existed
	// throughout, whatever was added or deleted between pages. q.After names a file of owner,
	// deleted or expired ones included (ErrUnknownCursor when it names none). A page is one query.
	ListFiles(ctx context.Context, owner string, q FileQuery, now int64) ([]File, bool, error)

	// DeleteFile deletes a file of owner that exists at now (else ErrNotFound) and releases the
	// bytes of its parts, and returns it. Once it returns, the file is gone from every method, for
	// good; the bytes may be released after it returns, by a store's background remover (see
	// SweepResult), and if releasing them fails or the process dies, SweepExpired finishes the job.
	DeleteFile(ctx context.Context, owner, fileID string, now int64) (File, error)

	// SweepExpired releases the part bytes of uploads that expired (pending past ExpiresAt) or were
	// cancelled, and of files whose ExpiresAt has passed, finishes any release a cancel, a
	// completion or a file deletion left unfinished, and reports what it released (see
	// SweepResult). The metadata of uploads stays, so they still read as expired or cancelled; an
	// expired file is gone as a deleted one is. On an error, the result counts what was released
	// before it.
	SweepExpired(ctx context.Context, now int64) (SweepResult, error)

	// Close releases the store. Pending work is finished or rolled back first.
	Close() error
}

// SweepResult is what one SweepExpired released. Each byte is counted once, by whoever releases
// it: the bytes a cancel, a completion (its parts left out of part_ids) or a file deletion
// released itself, or had released by a store's background remover, are not the sweep's. A sweep
// counts them only when it is the one that releases them: after a crash, a failed release, or
// before the background remover got to them.
type SweepResult struct {
	// Uploads counts the expired or cancelled uploads whose parts this sweep released.
	Uploads int
	// Files counts the Files that had expired at now and that this sweep deleted.
	Files int
	// Bytes is the size of the part bytes this sweep released: the parts of the uploads counted
	// in Uploads, of the Files counted in Files, and of any release left unfinished as said
	// above. Leftovers of part writes that were never recorded (a crash while a part streamed
	// in), which a store removes too, are not counted: their size was never known.
	Bytes int64
}

// Clock reads the time, in Unix seconds. AddPart and Complete read it when they commit, not only
// when they start, so that an upload that expires while a part streams in, or while the MD5 of
// its parts is computed, is not changed after its ExpiresAt.
type Clock func() int64

// At is the Clock that always reads t.
func At(t int64) Clock { return func() int64 { return t } }

// Limits bound the bytes AddPart stores.
type Limits struct {
	// MaxPart is the largest part, in bytes.
	MaxPart int64
	// MaxUpload, when above 0, bounds the bytes of all the parts one upload holds: a part that
	// would take them past it is refused with *UploadFullError.
	MaxUpload int64
	// Quota, when above 0, bounds the bytes one owner keeps: the parts of its uploads that are
	// not completed (until they are released) plus its files that exist (neither deleted nor
	// expired). A part that
	// would take them past it is refused with *QuotaError.
	Quota int64
}

// Errors a Store returns. Test for them with errors.Is or errors.As.
var (
	ErrNotFound = errors.New("not found")
	// ErrNoSpace says the store's storage has no room for new data: the disk is full, or below
	// the free space the store keeps. Freeing space (cancel, the sweeper) still works.
	ErrNoSpace       = errors.New("no space left for new data")
	ErrPartTooLarge  = errors.New("part is too large")
	ErrNoParts       = errors.New("part_ids is empty")
	ErrDuplicatePart = errors.New("part is listed more than once")
	ErrUnknownPart   = errors.New("part does not belong to this upload")
	ErrUnknownCursor = errors.New("the file to list after is not one of the owner's")
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

// UploadFullError says a part would take the bytes of an upload's parts past Limits.MaxUpload.
type UploadFullError struct {
	UploadID string
	Stored   int64 // the bytes of the parts the upload holds
	Part     int64 // the size of the part refused
	Max      int64
}

func (e *UploadFullError) Error() string {
	return fmt.Sprintf("upload %s holds %d bytes of parts; a part of %d bytes would take it past %d",
		e.UploadID, e.Stored, e.Part, e.Max)
}

// QuotaError says a part would take the bytes an owner keeps past Limits.Quota.
type QuotaError struct {
	Used  int64 // the bytes the owner keeps: parts of uploads not completed, and files
	Part  int64 // the size of the part refused
	Quota int64
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("the owner keeps %d bytes; a part of %d bytes would take it past its quota of %d",
		e.Used, e.Part, e.Quota)
}

// SpaceReporter is implemented by a store whose storage can fill up, such as a local disk.
type SpaceReporter interface {
	// FreeBytes reports how many bytes of its storage are free for new data.
	FreeBytes(ctx context.Context) (int64, error)
}
