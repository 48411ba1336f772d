package uploads

import (
	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/internal/limits"
)

// The models are the generated ones, re-exported under plain names so that everyday code imports
// only this package. They are aliases, not copies: a value of type Upload is a gen.Upload. Since
// `go doc` shows an alias without the fields of the type behind it, the comment of each model
// users read lists them (TestModelDocsListEveryField keeps the lists whole).

type (
	// Upload is an upload: one file on its way to becoming a File, sent as many parts.
	//
	//	ID        string        "upload_abc123"
	//	Object    UploadObject  always "upload"
	//	Filename  string        the name given at create
	//	Purpose   Purpose       the purpose given at create
	//	Bytes     int64         the size declared at create
	//	Status    UploadStatus  pending, completed, cancelled or expired
	//	CreatedAt int64         Unix seconds
	//	ExpiresAt int64         Unix seconds: CreatedAt + 3600
	//	File      *FileObject   the File, once the upload is completed; nil before
	Upload = gen.Upload

	// UploadPart is one part that was added to an upload.
	//
	//	ID        string            "part_def456", to pass to Complete
	//	Object    UploadPartObject  always "upload.part"
	//	UploadID  string            the upload it belongs to
	//	CreatedAt int64             Unix seconds
	UploadPart = gen.UploadPart

	// FileObject is the File a completed upload produced (see Upload.File and Client.RetrieveFile),
	// under the name the spec gives it.
	//
	//	ID            string            "file-RRx32Mws4VZG3ZUnsU6Dvf"
	//	Object        FileObjectObject  always "file"
	//	Filename      string            the upload's filename
	//	Purpose       Purpose           the upload's purpose
	//	Bytes         int64             the size of the content
	//	CreatedAt     int64             Unix seconds
	//	ExpiresAt     *int64            Unix seconds; nil when the File does not expire
	//	Status        FileObjectStatus  deprecated by the API: uploaded, processed or error
	//	StatusDetails *string           deprecated by the API: why validation failed, if it did
	FileObject = gen.FileObject

	// File is FileObject under a shorter name.
	File = gen.FileObject

	// FileList is one page of Files, as the API answers a list request. Client.ListFiles walks
	// the pages and yields their Files.
	//
	//	Object  FileListObject  always "list"
	//	Data    []FileObject    the Files of the page
	//	HasMore bool            whether another page follows
	//	FirstID *string         the first File's ID; nil on an empty page
	//	LastID  *string         the last File's ID, the cursor of the next page; nil on an empty page
	FileList = gen.FileList

	// FileDeleted is the answer to Client.DeleteFile.
	//
	//	ID      string             the File's ID
	//	Object  FileDeletedObject  always "file"
	//	Deleted bool               true
	FileDeleted = gen.FileDeleted

	// FileExpirationAfter is the expires_after object of a create request, as the spec names it.
	// CreateParams takes it as a time.Duration.
	FileExpirationAfter = gen.FileExpirationAfter

	// ErrorResponse is the error envelope every error answer carries; APIError holds its fields.
	ErrorResponse = gen.ErrorResponse

	// UploadStatus is the state of an upload. Values this version does not know decode as they are.
	UploadStatus = gen.UploadStatus

	// Purpose is the purpose of an upload or a File: one type for both, so that
	// up.Purpose == PurposeFineTune and file.Purpose == FilePurposeFineTuneResults both compile.
	// An upload is created with one of the Purpose* constants; Files the service produces have the
	// FilePurpose*Output and FilePurposeFineTuneResults ones too. Values this version does not know
	// decode as they are.
	Purpose = gen.Purpose

	// FilePurpose is Purpose, under the name of the File's field.
	FilePurpose = gen.Purpose
)

// The states of an upload.
const (
	UploadStatusPending   = gen.UploadStatusPending
	UploadStatusCompleted = gen.UploadStatusCompleted
	UploadStatusCancelled = gen.UploadStatusCancelled
	UploadStatusExpired   = gen.UploadStatusExpired
)

// The purposes an upload can be created with.
const (
	PurposeAssistants = gen.PurposeAssistants
	PurposeBatch      = gen.PurposeBatch
	PurposeEvals      = gen.PurposeEvals
	PurposeFineTune   = gen.PurposeFineTune
	PurposeUserData   = gen.PurposeUserData
	PurposeVision     = gen.PurposeVision
)

// The purposes a File can have.
const (
	FilePurposeAssistants       = gen.PurposeAssistants
	FilePurposeAssistantsOutput = gen.PurposeAssistantsOutput
	FilePurposeBatch            = gen.PurposeBatch
	FilePurposeBatchOutput      = gen.PurposeBatchOutput
	FilePurposeEvals            = gen.PurposeEvals
	FilePurposeFineTune         = gen.PurposeFineTune
	FilePurposeFineTuneResults  = gen.PurposeFineTuneResults
	FilePurposeUserData         = gen.PurposeUserData
	FilePurposeVision           = gen.PurposeVision
)

// Limits of the API, in bytes.
const (
	// MaxPartSize is the largest part the API accepts: 64 MiB.
	MaxPartSize = limits.MaxPartBytes
	// MaxUploadSize is the largest upload the API accepts: 8 GiB.
	MaxUploadSize = limits.MaxUploadBytes
)
