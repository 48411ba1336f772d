package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"

	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/store"
)

// Errors in the form of an addUploadPart request.
var (
	errNoData       = errors.New("the form has no 'data' field")
	errTwoData      = errors.New("the form has more than one 'data' field")
	errMalformed    = errors.New("the multipart form is malformed")
	errFormTooLarge = errors.New("the multipart form is too large")
)

// AddUploadPart streams the form's one data field into the store as a new part. The bytes go
// from the connection to the store as they arrive and are never held whole in memory; a part over
// the limit is refused once limit+1 bytes were read.
func (s *Server) AddUploadPart(ctx context.Context, req gen.AddUploadPartRequestObject) (gen.AddUploadPartResponseObject, error) {
	who := owner(ctx)
	now := s.now().Unix()

	// Refuse early, before reading up to 64 MiB, when the upload cannot take a part. The store
	// checks again when it records the part: the state may change meanwhile.
	u, err := s.store.GetUpload(ctx, who, req.UploadID)
	if err != nil {
		return nil, s.fromStore(err, req.UploadID, "add a part to upload")
	}
	if st := u.StatusAt(now); st != store.StatusPending {
		return nil, stateError(&store.StateError{UploadID: u.ID, Status: st, Op: "add a part to"})
	}

	form := &partForm{mr: req.Body}
	data, err := form.data()
	if err != nil {
		return nil, s.formError(err)
	}
	p := store.Part{ID: newPartID(), UploadID: req.UploadID, CreatedAt: now}
	p, err = s.store.AddPart(ctx, who, req.UploadID, p, data, s.maxPart, now)
	if err != nil {
		// A fault of the form, found while the store read it, explains the failure better than
		// whatever the store made of it.
		if form.err != nil {
			return nil, s.formError(form.err)
		}
		return nil, s.fromStore(err, req.UploadID, "add a part to upload")
	}
	return gen.AddUploadPart200JSONResponse{
		ID:        p.ID,
		Object:    gen.UploadPartObjectUploadPart,
		CreatedAt: p.CreatedAt,
		UploadID:  req.UploadID,
	}, nil
}

// formError is the answer for a fault of the form.
func (s *Server) formError(err error) error {
	switch {
	case errors.Is(err, errNoData):
		return badRequest("data", codeMissingRequired, "Missing required parameter: 'data'.")
	case errors.Is(err, errTwoData):
		return badRequest("data", "", "The form has more than one 'data' field; send exactly one part per request.")
	case errors.Is(err, errFormTooLarge):
		return partTooLarge(s.maxPart)
	case errors.Is(err, errMalformed):
		return badRequest("data", "", "The request body is not a well-formed multipart/form-data form.")
	}
	return fmt.Errorf("read the part's form: %w", err)
}

// partForm reads the form of an addUploadPart request: fields other than data are skipped, and
// exactly one data field must be present.
type partForm struct {
	mr   *multipart.Reader
	part *multipart.Part // the data field
	done bool            // the rest of the form was checked
	err  error           // what was wrong with the form, found after data
}

// data moves to the data field and returns a reader of its bytes. At the end of them, the reader
// checks the rest of the form before it reports io.EOF, so a second data field fails the read and
// the store records nothing.
func (f *partForm) data() (io.Reader, error) {
	if f.mr == nil {
		return nil, errNoData
	}
	for {
		p, err := f.mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, errNoData
		}
		if err != nil {
			return nil, formReadError(err)
		}
		if p.FormName() == "data" {
			f.part = p
			return f, nil
		}
		if _, err := io.Copy(io.Discard, p); err != nil {
			return nil, formReadError(err)
		}
	}
}

// Read reads the data field.
func (f *partForm) Read(b []byte) (int, error) {
	if f.done {
		if f.err != nil {
			return 0, f.err
		}
		return 0, io.EOF
	}
	n, err := f.part.Read(b)
	if errors.Is(err, io.EOF) {
		f.done = true
		if f.err = f.rest(); f.err != nil {
			return n, f.err
		}
		return n, io.EOF
	}
	if err != nil {
		f.done = true
		f.err = formReadError(err)
		return n, f.err
	}
	return n, nil
}

// rest reads the form after the data field: other fields are skipped, another data field is an
// error.
func (f *partForm) rest() error {
	for {
		p, err := f.mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return formReadError(err)
		}
		if p.FormName() == "data" {
			return errTwoData
		}
		if _, err := io.Copy(io.Discard, p); err != nil {
			return formReadError(err)
		}
	}
}

// formReadError classifies a failure to read the form: the body limit, or a malformed form.
func formReadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return fmt.Errorf("%w: %w", errFormTooLarge, err)
	}
	return fmt.Errorf("%w: %w", errMalformed, err)
}
