package uploads

import (
	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/internal/limits"
)

// The models are the generated ones, re-exported under plain names so that everyday code imports
// only this package. They are aliases, not copies: a value of type Upload is a gen.Upload.

type (
	// Upload is an upload: one file on its way to becoming a File, sent as many parts.
	Upload = gen.Upload

	// UploadPart is one part that was added to an upload.
	UploadPart = gen.UploadPart

	// FileObject is the File a completed upload produced (see Upload.File and Client.RetrieveFile),
	// under the name the spec gives it.
	FileObject = gen.FileObject

	// File is FileObject under a shorter name.
	File = gen.FileObject

	// FileList is one page of Files, as the API answers a list request. Client.ListFiles walks
	// the pages and yields their Files.
	FileList = gen.FileList

	// FileDeleted is the answer to Client.DeleteFile.
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
