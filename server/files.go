package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/store"
)

// RetrieveFile returns a File of the request's key.
func (s *Server) RetrieveFile(ctx context.Context, req gen.RetrieveFileRequestObject) (gen.RetrieveFileResponseObject, error) {
	f, err := s.store.GetFile(ctx, owner(ctx), req.FileID, s.now().Unix())
	if err != nil {
		return nil, fileError(err, req.FileID, "retrieve file")
	}
	return gen.RetrieveFile200JSONResponse(fileJSON(f)), nil
}

// DownloadFile streams the content of a File of the request's key, with its Content-Length.
func (s *Server) DownloadFile(ctx context.Context, req gen.DownloadFileRequestObject) (gen.DownloadFileResponseObject, error) {
	f, body, err := s.store.OpenFile(ctx, owner(ctx), req.FileID, s.now().Unix())
	if err != nil {
		return nil, fileError(err, req.FileID, "open file")
	}
	// The generated response closes body once it is sent.
	return gen.DownloadFile200ApplicationOctetStreamResponse{Body: body, ContentLength: f.Bytes}, nil
}

// fileError is the answer for an error of the store about a File: a File of another key, or one
// whose expires_at passed (the live service deletes it then), is not found.
func fileError(err error, fileID, doing string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fileNotFound(fileID)
	}
	return fmt.Errorf("%s %s: %w", doing, fileID, err)
}

// ListFiles is not served yet: it answers as an unknown route does.
func (s *Server) ListFiles(ctx context.Context, req gen.ListFilesRequestObject) (gen.ListFilesResponseObject, error) {
	return nil, &apiError{Status: http.StatusNotFound, Message: "Invalid URL (GET /v1/files)", Type: typeInvalidRequest}
}

// DeleteFile is not served yet: it answers as an unknown route does.
func (s *Server) DeleteFile(ctx context.Context, req gen.DeleteFileRequestObject) (gen.DeleteFileResponseObject, error) {
	return nil, &apiError{Status: http.StatusNotFound, Message: "Invalid URL (DELETE /v1/files/" + req.FileID + ")", Type: typeInvalidRequest}
}
