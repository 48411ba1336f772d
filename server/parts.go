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
// the limit is refused once limit+1 bytes were read. The form is read only when the store reads
// the part, which it does after checking the upload: a part for an upload that cannot take one is
// refused before a byte of the body is read.
func (s *Server) AddUploadPart(ctx context.Context, req gen.AddUploadPartRequestObject) (gen.AddUploadPartResponseObject, error) {
	if free, low := s.lowOnSpace(ctx); low {
		return nil, noSpace(free, s.minFree)
	}
	form := &partForm{mr: req.Body, charge: partChargeOf(ctx)}
	lim := store.Limits{MaxPart: s.maxPart, MaxUpload: s.maxUpload, Quota: s.quota}
	p, err := s.store.AddPart(ctx, owner(ctx), req.UploadID, newPartID(), form, lim, s.clock)
	if err != nil {
		// A fault of the form, found while the store read it, explains the failure better than
		// whatever the store made of it.
		var limited *apiError
		if errors.As(form.err, &limited) && limited.Status == http.StatusTooManyRequests {
			// Over the part-bytes limit: the part is not stored. The rest of the form (bounded
			// by the body's limit) is read, so the client reads the answer rather than fail to
			// send.
			s.logRefusal(ctx, partBytesLimit, limited.RetryAfter)
			form.drain()
			return nil, limited
		}
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

// partForm reads the data field of the form of an addUploadPart request: fields other than data
// are skipped, and exactly one data field must be present. At the end of the data, it checks the
// rest of the form before it reports io.EOF, so a second data field fails the read and the store
// records nothing. Fields are read raw (NextRawPart): a part is stored as its bytes were sent, even
// one marked Content-Transfer-Encoding: quoted-printable, which NextPart would decode.
type partForm struct {
	mr     *multipart.Reader
	charge *partCharge     // counts the data's bytes against the key's part-bytes limit; nil without one
	part   *multipart.Part // the data field, once found
	done   bool            // the form was read to its end, or failed
	err    error           // what was wrong with the form
}

// data moves to the data field.
func (f *partForm) data() (*multipart.Part, error) {
	if f.mr == nil {
		return nil, errNoData
	}
	for {
		p, err := f.mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return nil, errNoData
		}
		if err != nil {
			return nil, formReadError(err)
		}
		if p.FormName() == "data" {
			return p, nil
		}
		if _, err := io.Copy(io.Discard, p); err != nil {
			return nil, formReadError(err)
		}
	}
}

// Read reads the data field, finding it first.
func (f *partForm) Read(b []byte) (int, error) {
	if f.done {
		if f.err != nil {
			return 0, f.err
		}
		return 0, io.EOF
	}
	if f.part == nil {
		p, err := f.data()
		if err != nil {
			f.done, f.err = true, err
			return 0, err
		}
		f.part = p
	}
	n, err := f.part.Read(b)
	if f.charge != nil && n > 0 {
		if cerr := f.charge.read(n); cerr != nil {
			f.done, f.err = true, cerr
			return n, cerr
		}
	}
	if errors.Is(err, io.EOF) {
		f.done = true
		if f.err = f.rest(); f.err != nil {
			return n, f.err
		}
		if f.charge != nil {
			// The whole part is known now, and not yet stored: it is counted, or refused.
			if f.err = f.charge.end(); f.err != nil {
				return n, f.err
			}
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

// drain reads what is left of the form, and drops it.
func (f *partForm) drain() {
	if f.part != nil {
		_, _ = io.Copy(io.Discard, f.part)
	}
	if f.mr != nil {
		for {
			p, err := f.mr.NextRawPart()
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, p); err != nil {
				return
			}
		}
	}
}

// rest reads the form after the data field: other fields are skipped, another data field is an
// error.
func (f *partForm) rest() error {
	for {
		p, err := f.mr.NextRawPart()
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
