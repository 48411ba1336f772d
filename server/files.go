package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/store"
)

// RetrieveFile returns a File of the request's key.
func (s *Server) RetrieveFile(ctx context.Context, req gen.RetrieveFileRequestObject) (gen.RetrieveFileResponseObject, error) {
	f, err := s.liveFile(ctx, req.FileID)
	if err != nil {
		return nil, err
	}
	return gen.RetrieveFile200JSONResponse(fileJSON(f)), nil
}

// DownloadFile streams the content of a File of the request's key, with its Content-Length.
func (s *Server) DownloadFile(ctx context.Context, req gen.DownloadFileRequestObject) (gen.DownloadFileResponseObject, error) {
	if _, err := s.liveFile(ctx, req.FileID); err != nil {
		return nil, err
	}
	body, size, err := s.store.OpenFile(ctx, owner(ctx), req.FileID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fileNotFound(req.FileID)
		}
		return nil, fmt.Errorf("open file %s: %w", req.FileID, err)
	}
	// The generated response closes body once it is sent.
	return gen.DownloadFile200ApplicationOctetStreamResponse{Body: body, ContentLength: size}, nil
}

// liveFile returns a File of the request's key that has not expired. The live service deletes a
// file when its expires_at passes; here it stays stored but is no longer found.
func (s *Server) liveFile(ctx context.Context, fileID string) (store.File, error) {
	f, err := s.store.GetFile(ctx, owner(ctx), fileID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.File{}, fileNotFound(fileID)
		}
		return store.File{}, fmt.Errorf("retrieve file %s: %w", fileID, err)
	}
	if f.ExpiresAt != nil && s.now().Unix() >= *f.ExpiresAt {
		return store.File{}, fileNotFound(fileID)
	}
	return f, nil
}
