package uploads

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"

	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/internal/limits"
)

// ListOrder is the order ListFiles lists Files in, by creation time.
type ListOrder = gen.ListFilesParamsOrder

// The orders of ListFiles.
const (
	ListOrderAsc  = gen.ListFilesParamsOrderAsc  // oldest first
	ListOrderDesc = gen.ListFilesParamsOrderDesc // newest first, the API's default
)

// MaxListLimit is the most Files one page of ListFiles can hold, and the API's default page size.
const MaxListLimit = int(limits.MaxListFilesLimit)

// ListFilesParams selects the Files ListFiles lists. The zero value lists every File, newest
// first.
type ListFilesParams struct {
	// Purpose, when not empty, lists only Files with this purpose.
	Purpose Purpose
	// Limit is the number of Files asked for per page, from 1 to MaxListLimit; 0 leaves it to the
	// API (MaxListLimit). It sets the size of the pages, not how many Files are listed in all:
	// the iterator goes on to the next page until there is none, or until the loop stops.
	Limit int
	// Order is ListOrderDesc (newest first, when empty) or ListOrderAsc.
	Order ListOrder
	// After, when not empty, is a File ID: the listing starts with the File that follows it.
	After string
}

func (p ListFilesParams) request(op string) (gen.ListFilesParams, error) {
	var q gen.ListFilesParams
	if p.Purpose != "" {
		purpose := p.Purpose
		q.Purpose = &purpose
	}
	if p.Limit != 0 {
		if p.Limit < 1 || p.Limit > MaxListLimit {
			return q, &InvalidParamError{Operation: op, Param: "limit", Reason: fmt.Sprintf("%d is not between 1 and %d", p.Limit, MaxListLimit)}
		}
		limit := p.Limit
		q.Limit = &limit
	}
	if p.Order != "" {
		if !p.Order.Valid() {
			return q, &InvalidParamError{Operation: op, Param: "order", Reason: fmt.Sprintf("%q is neither %q nor %q", p.Order, ListOrderAsc, ListOrderDesc)}
		}
		order := p.Order
		q.Order = &order
	}
	if p.After != "" {
		if err := checkID(op, "after", p.After); err != nil {
			return q, err
		}
		after := p.After
		q.After = &after
	}
	return q, nil
}

// ListFiles lists the Files of the API key, as the params select them, over as many pages as
// there are: each page after the first starts after the last File of the one before, until the
// API says no more follow. Each page is one request, made when the loop reaches it, so breaking
// out of the loop early sends no more requests.
//
//	for f, err := range client.ListFiles(ctx, uploads.ListFilesParams{Purpose: uploads.FilePurposeBatch}) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(f.ID, f.Filename)
//	}
//
// An error (a refused param, a failed request, a page that cannot be decoded or does not move the
// listing on) is yielded once, with a zero File, and ends the listing. The call options apply to
// every page: CaptureResponse holds the last one.
func (c *Client) ListFiles(ctx context.Context, p ListFilesParams, opts ...CallOption) iter.Seq2[File, error] {
	return func(yield func(File, error) bool) {
		const op = "list files"
		q, err := p.request(op)
		if err != nil {
			yield(File{}, err)
			return
		}
		for {
			page, err := c.listFilesPage(ctx, op, q, opts)
			if err != nil {
				yield(File{}, err)
				return
			}
			for _, f := range page.Data {
				if !yield(f, nil) {
					return
				}
			}
			if !page.HasMore {
				return
			}
			next, err := nextCursor(page, q.After)
			if err != nil {
				yield(File{}, fmt.Errorf("%s: %w", op, err))
				return
			}
			q.After = &next
		}
	}
}

// listFilesPage asks for one page of Files.
func (c *Client) listFilesPage(ctx context.Context, op string, q gen.ListFilesParams, opts []CallOption) (*FileList, error) {
	if q.After != nil {
		op += " after " + *q.After
	}
	var page FileList
	err := c.callJSON(ctx, request{op: op, send: func(ctx context.Context) (*http.Response, error) {
		return c.api.ListFiles(ctx, &q)
	}}, opts, &page)
	if err != nil {
		return nil, err
	}
	return &page, nil
}

// nextCursor is the File ID the page after page starts after: its last_id, or, when the API left
// that out, the ID of its last File. A page that says more follow but gives no way to reach them,
// or points back at the cursor it was asked with, is an error rather than an endless loop.
func nextCursor(page *FileList, after *string) (string, error) {
	var next string
	switch {
	case page.LastID != nil && *page.LastID != "":
		next = *page.LastID
	case len(page.Data) > 0:
		next = page.Data[len(page.Data)-1].ID
	}
	if next == "" {
		return "", fmt.Errorf("a page says more Files follow, but neither names a last File nor holds any")
	}
	if after != nil && next == *after {
		return "", fmt.Errorf("the page after %s ends where it started", next)
	}
	return next, nil
}

// DeleteFile deletes the File with the given ID, and with it its content. The File is then gone
// from every call: retrieving, downloading or deleting it again answers 404 (IsNotFound).
//
// Deleting is not idempotent, yet it is retried like every call. When an attempt may have deleted
// the File without its answer arriving (a connection error, a timeout, a 408 or 5xx) and the retry
// is answered 404, the error is a *DeletedEarlierError (errors.Is(err, ErrDeletedEarlier)): the
// File is gone, most likely deleted by the lost attempt, though a 404 cannot prove it ever
// existed. It unwraps to the 404, so IsNotFound(err) is true as well. A first attempt answered 404
// is an ordinary *APIError: no File with that ID exists.
func (c *Client) DeleteFile(ctx context.Context, fileID string, opts ...CallOption) (*FileDeleted, error) {
	const what = "delete file"
	if err := checkID(what, "file ID", fileID); err != nil {
		return nil, err
	}
	op := what + " " + fileID
	var (
		d FileDeleted
		h attempts
	)
	err := c.callJSON(ctx, request{op: op, history: &h, send: func(ctx context.Context) (*http.Response, error) {
		return c.api.DeleteFile(ctx, fileID)
	}}, opts, &d)
	if err != nil {
		var apiErr *APIError
		if h.lost != nil && errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
			return nil, &DeletedEarlierError{Operation: op, FileID: fileID, Lost: h.lost, NotFound: apiErr}
		}
		return nil, err
	}
	return &d, nil
}

// RetrieveFile returns the File with the given ID, such as the one a completed upload produced.
func (c *Client) RetrieveFile(ctx context.Context, fileID string, opts ...CallOption) (*File, error) {
	const what = "retrieve file"
	if err := checkID(what, "file ID", fileID); err != nil {
		return nil, err
	}
	var f File
	err := c.callJSON(ctx, request{op: what + " " + fileID, send: func(ctx context.Context) (*http.Response, error) {
		return c.api.RetrieveFile(ctx, fileID)
	}}, opts, &f)
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// DownloadFile returns the content of the File with the given ID. The caller must close it.
// Failures before the body starts are retried; a failure while reading the body is the caller's
// to handle.
func (c *Client) DownloadFile(ctx context.Context, fileID string, opts ...CallOption) (io.ReadCloser, error) {
	const what = "download file"
	if err := checkID(what, "file ID", fileID); err != nil {
		return nil, err
	}
	resp, _, err := c.do(ctx, request{op: what + " " + fileID, stream: true, send: func(ctx context.Context) (*http.Response, error) {
		return c.api.DownloadFile(ctx, fileID, func(_ context.Context, req *http.Request) error {
			req.Header.Set("Accept", "application/octet-stream, */*")
			return nil
		})
	}})
	if err != nil {
		return nil, err
	}
	if cc := applyCallOptions(opts); cc.response != nil {
		*cc.response = Response{StatusCode: resp.StatusCode, Header: resp.Header}
	}
	return resp.Body, nil
}
