package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/internal/limits"
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

// ListFiles answers one page of the Files of the request's key, newest first unless the request
// says otherwise. The page is one query of the store, whatever its size (see store.Store.ListFiles
// for the order of Files created in the same second).
func (s *Server) ListFiles(ctx context.Context, req gen.ListFilesRequestObject) (gen.ListFilesResponseObject, error) {
	const maxLimit = int(limits.MaxListFilesLimit)
	q := store.FileQuery{Limit: maxLimit, Desc: true}
	p := req.Params
	// The validator refuses a bad value first, in these words (see parameterError); these checks
	// keep the handler safe without it.
	if p.Limit != nil {
		if *p.Limit < 1 {
			return nil, badRequest("limit", codeBelowMin, "Invalid 'limit': integer below minimum value. Expected a value >= 1, but got %d instead.", *p.Limit)
		}
		if *p.Limit > maxLimit {
			return nil, badRequest("limit", codeAboveMax, "Invalid 'limit': integer above maximum value. Expected a value <= %d, but got %d instead.", maxLimit, *p.Limit)
		}
		q.Limit = *p.Limit
	}
	if p.Order != nil {
		switch *p.Order {
		case gen.ListFilesParamsOrderAsc:
			q.Desc = false
		case gen.ListFilesParamsOrderDesc:
		default:
			return nil, badRequest("order", "", "'%s' is not one of ['asc', 'desc'] - 'order'", *p.Order)
		}
	}
	if p.Purpose != nil {
		q.Purpose = string(*p.Purpose)
	}
	if p.After != nil {
		q.After = *p.After
	}
	files, more, err := s.store.ListFiles(ctx, owner(ctx), q, s.now().Unix())
	if errors.Is(err, store.ErrUnknownCursor) {
		return nil, badRequest("after", "", "Invalid 'after': no File with id '%s' to list after.", q.After)
	}
	if err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	page := gen.FileList{Object: gen.FileListObjectList, Data: make([]gen.FileObject, len(files)), HasMore: more}
	for i, f := range files {
		page.Data[i] = fileJSON(f)
	}
	if len(files) > 0 {
		page.FirstID, page.LastID = &files[0].ID, &files[len(files)-1].ID
	}
	return gen.ListFiles200JSONResponse(page), nil
}

// DeleteFile deletes a File of the request's key and frees its bytes.
func (s *Server) DeleteFile(ctx context.Context, req gen.DeleteFileRequestObject) (gen.DeleteFileResponseObject, error) {
	f, err := s.store.DeleteFile(ctx, owner(ctx), req.FileID, s.now().Unix())
	if err != nil {
		return nil, fileError(err, req.FileID, "delete file")
	}
	return gen.DeleteFile200JSONResponse{ID: f.ID, Object: gen.FileDeletedObjectFile, Deleted: true}, nil
}
