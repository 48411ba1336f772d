package uploads

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

const (
	// DefaultPartSize is the part size UploadFile uses unless told otherwise: the largest allowed.
	DefaultPartSize = MaxPartSize
	// DefaultConcurrency is how many parts UploadFile sends at once unless told otherwise.
	DefaultConcurrency = 4
	// cancelTimeout bounds the cancel call UploadFile makes after a failure.
	cancelTimeout = 30 * time.Second
)

// UploadFileParams configures UploadFile and UploadReaderAt.
type UploadFileParams struct {
	// Filename is the name the file is uploaded under. UploadFile defaults it to the base name of
	// the path; UploadReaderAt requires it.
	Filename string
	// Purpose is what the file is for, such as PurposeFineTune. Required.
	Purpose Purpose
	// MIMEType is the type of the file; when empty it is guessed with GuessMIMETypeFor.
	MIMEType string
	// PartSize is the size of each part but the last: at most MaxPartSize, which is the default.
	PartSize int64
	// Concurrency is how many parts are sent at once (default DefaultConcurrency).
	Concurrency int
	// MD5, when true, has the API check the uploaded bytes against their MD5. The file is then read
	// a second time, sequentially, by a hasher that runs alongside the parts (see UploadReaderAt).
	MD5 bool
	// ExpiresAfter, when not zero, makes the File expire this long after it is created (see
	// CreateParams).
	ExpiresAfter time.Duration
	// Progress, when not nil, is told how far the upload is: once as soon as the upload is created,
	// then as bytes are handed to the network and parts are accepted, at most five times a second
	// (a change is reported within a fifth of a second), and a last time when every part is
	// accepted (or the sending stopped), so that the final state is always reported. Calls come one at a time, from the goroutines sending parts, so it must
	// not block for long. Bytes of an attempt that failed and is retried are taken back, so Sent
	// may go down.
	Progress func(Progress)
	// Journal, when not empty, is the path of a file in which the upload is recorded, with each
	// part the API acknowledged, so that a later call for the same source with the same Journal
	// resumes the upload rather than starting over; see "Resuming" on UploadReaderAt. Default off.
	Journal string
	// OnJournal, when not nil, is told at the start what became of the journal found at Journal:
	// the upload resumes from it, or a new upload starts, and why. It is not called when there is
	// no journal.
	OnJournal func(JournalEvent)
}

// Progress is how far an UploadFile is.
type Progress struct {
	// UploadID is the ID of the upload.
	UploadID string
	// ExpiresAt is when the upload expires unless it is completed.
	ExpiresAt time.Time
	// Sent is how many bytes were handed to the network, and Total the size of the file.
	Sent, Total int64
	// PartsDone is how many parts the API has accepted, of Parts.
	PartsDone, Parts int
}

// UploadError is the error of an UploadFile that failed after the upload was created. It says
// what became of the upload, as far as the client could find out: after a failure UploadFile
// cancels the upload, unless the upload turns out to be completed, which it never cancels.
type UploadError struct {
	// UploadID is the upload that failed.
	UploadID string
	// Filename is the name it was uploaded under.
	Filename string
	// Err is what went wrong.
	Err error
	// Status is what became of the upload:
	//   - UploadStatusCancelled: it is cancelled (by UploadFile, or before).
	//   - UploadStatusCompleted: it completed although the call failed: an attempt of Complete
	//     whose answer was lost completed it. Its File exists, but UploadFile could not tell which
	//     File it is: Candidates lists the Files that match it (none, or several), and FindErr
	//     says why the Files could not be listed, if they could not.
	//   - UploadStatusPending: it could not be cancelled and is still pending; it expires at
	//     ExpiresAt, and its parts with it.
	//   - UploadStatusExpired: it has expired.
	//   - "": unknown; the cancel failed in a way that leaves open whether it took effect. If
	//     pending, it expires at ExpiresAt.
	Status UploadStatus
	// ExpiresAt is when the upload expires if it stays pending, in Unix seconds.
	ExpiresAt int64
	// CancelErr is why the cancel failed; nil when it worked or was not tried.
	CancelErr error
	// Candidates are the Files that match a completed upload whose File could not be told apart.
	Candidates []File
	// FindErr is why the Files of a completed upload could not be listed.
	FindErr error
	// Kept is true when the upload was left pending on purpose, with its journal
	// (UploadFileParams.Journal), so that a new call resumes it: Status is then pending.
	Kept bool
}

// Error says which upload failed and why, and what became of it.
func (e *UploadError) Error() string {
	msg := fmt.Sprintf("upload %s (%s): %v; ", e.Filename, e.UploadID, e.Err)
	expires := time.Unix(e.ExpiresAt, 0).UTC().Format(time.RFC3339)
	switch e.Status {
	case UploadStatusCancelled:
		return msg + "the upload was cancelled"
	case UploadStatusCompleted:
		msg += "the upload completed nonetheless, and was not cancelled; "
		switch {
		case e.FindErr != nil:
			return msg + fmt.Sprintf("its File could not be looked for: %v", e.FindErr)
		case len(e.Candidates) == 0:
			return msg + "no File in the Files list matches it"
		}
		ids := make([]string, len(e.Candidates))
		for i, f := range e.Candidates {
			ids[i] = f.ID
		}
		return msg + fmt.Sprintf("its File is one of %s, which all match it", strings.Join(ids, ", "))
	case UploadStatusPending:
		if e.Kept {
			return msg + fmt.Sprintf("the upload stays pending until %s, and its journal lets a new call resume it", expires)
		}
		return msg + fmt.Sprintf("the upload could not be cancelled (%v) and stays pending until it expires at %s", e.CancelErr, expires)
	case UploadStatusExpired:
		return msg + "the upload has expired"
	}
	return msg + fmt.Sprintf("whether the upload was cancelled is unknown (%v); if it is still pending, it expires at %s", e.CancelErr, expires)
}

// Unwrap returns the cause of the failure (not the cancel's).
func (e *UploadError) Unwrap() error { return e.Err }

// Cancelled reports whether the failed upload is cancelled.
func (e *UploadError) Cancelled() bool { return e.Status == UploadStatusCancelled }

// UploadFile uploads the file at path in parts and returns the completed Upload, whose File is
// ready for use. See UploadReaderAt for how.
func (c *Client) UploadFile(ctx context.Context, path string, p UploadFileParams) (*Upload, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("upload file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("upload file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, &InvalidParamError{Operation: "upload file", Param: "path", Reason: path + " is not a regular file"}
	}
	if p.Filename == "" {
		p.Filename = filepath.Base(path)
	}
	src := source{ModTime: info.ModTime().UnixNano()}
	if p.Journal != "" {
		if src.Path, err = filepath.Abs(path); err != nil {
			return nil, fmt.Errorf("upload file: %w", err)
		}
	}
	return c.uploadReaderAt(ctx, f, info.Size(), p, src)
}

// UploadReaderAt uploads size bytes read from r in parts and returns the completed Upload, whose
// File is ready for use.
//
// It checks its arguments first (size from 1 to MaxUploadSize, part size up to MaxPartSize, that r
// can be read at its first and last byte) and sends nothing when they fail. It then creates the
// upload and sends up to Concurrency parts at once, each streamed from its own io.SectionReader, so
// memory stays bounded by the concurrency and the transport's small buffers, whatever the part
// size. Each part is retried as AddPart retries. Then it completes the upload with the part IDs in
// file order.
//
// With MD5 set, a hasher reads r once more from start to end, alongside the parts; a part's bytes
// cannot feed an MD5 in file order while parts are sent in parallel without holding whole parts in
// memory. The complete call waits for the hash.
//
// When anything fails after the upload was created, or ctx is done, it cancels the upload, with a
// fresh context of its own since ctx may be done, and returns an *UploadError that wraps the cause
// and says what became of the upload (its Status).
//
// Answers lost on the way are not failures when the work was done. A lost answer to Create or to a
// part is retried like any failure, and leaves at most an orphan: a pending upload nobody uses,
// which expires an hour after it was created, or a part that completing leaves out. When the
// answer to Complete is lost but the upload completed (a retry or the cancel is refused as already
// completed), the upload is never cancelled: UploadReaderAt finds its File in the Files list (the
// one File of its purpose, filename and size created since the upload) and returns the completed
// Upload as if nothing had been lost; when no File or several match, its *UploadError says the
// upload completed and names the candidates.
//
// # Resuming
//
// With p.Journal set, the upload is recorded in that file: the upload's ID and expiry, the
// source's identity (its size, the SHA-256 of its first and last MiB, and for UploadFile its
// absolute path and modification time), the part size, and each part's index and ID once the API
// acknowledged it. Each record is synced to disk and checksummed: a crash while writing costs at
// most the part being recorded, never a wrong entry.
//
// When a journal is found at the start, it is used only if it still applies: the same source
// identity, part size, filename, purpose, MIME type and ExpiresAfter, and an upload that expires
// more than ResumeMargin from now. Then only the parts it does not record are sent, and the
// upload is completed with all the part IDs in file order. When it does not apply, or the API
// refuses the upload as expired, cancelled or unknown, the journal is removed, its upload
// cancelled if it may still be pending, OnJournal told why, and a new upload started: parts of two
// sources are never completed together. For a reader the identity is its size and fingerprint
// only: a change between the first and the last MiB goes unnoticed.
//
// With a journal, a failure that a new call may get past (ctx done, connection errors, 5xx and
// 429 answers once retries are spent, a read error of the source) does not cancel the upload: it
// stays pending with its journal, and the *UploadError has Kept set. Other failures cancel it as
// without a journal. The journal is removed once the upload is completed or cancelled.
func (c *Client) UploadReaderAt(ctx context.Context, r io.ReaderAt, size int64, p UploadFileParams) (*Upload, error) {
	return c.uploadReaderAt(ctx, r, size, p, source{})
}

// check checks the arguments of an upload of size bytes from a source (nilSource when there is
// none) and returns the part size (defaultPartSize when p has none) and the concurrency to use.
func (p UploadFileParams) check(op string, nilSource bool, size, defaultPartSize int64) (partSize int64, concurrency int, err error) {
	bad := func(param, reason string) error {
		return &InvalidParamError{Operation: op, Param: param, Reason: reason}
	}
	partSize, concurrency = p.PartSize, p.Concurrency
	if partSize == 0 {
		partSize = defaultPartSize
	}
	if concurrency == 0 {
		concurrency = DefaultConcurrency
	}
	switch {
	case nilSource:
		return 0, 0, bad("reader", "nil")
	case strings.TrimSpace(p.Filename) == "":
		return 0, 0, bad("filename", "empty")
	case size < 1 || size > MaxUploadSize:
		return 0, 0, bad("size", fmt.Sprintf("%d bytes is not between 1 and %d", size, MaxUploadSize))
	case partSize < 1 || partSize > MaxPartSize:
		return 0, 0, bad("part size", fmt.Sprintf("%d is not between 1 and %d", partSize, MaxPartSize))
	case concurrency < 1:
		return 0, 0, bad("concurrency", fmt.Sprintf("%d is less than 1", concurrency))
	}
	return partSize, concurrency, nil
}

// uploadReaderAt is UploadReaderAt, knowing more of the source when it is a file.
func (c *Client) uploadReaderAt(ctx context.Context, r io.ReaderAt, size int64, p UploadFileParams, src source) (*Upload, error) {
	op := "upload " + p.Filename
	partSize, concurrency, err := p.check(op, r == nil, size, DefaultPartSize)
	if err != nil {
		return nil, err
	}
	mimeType := p.MIMEType
	if mimeType == "" {
		mimeType = GuessMIMETypeFor(p.Filename, p.Purpose)
	}
	create := CreateParams{Filename: p.Filename, Purpose: p.Purpose, Bytes: size, MIMEType: mimeType, ExpiresAfter: p.ExpiresAfter}
	if _, err := create.request(op); err != nil {
		return nil, err
	}
	if err := probe(r, size); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if p.Journal != "" {
		return c.uploadJournaled(ctx, r, create, partSize, concurrency, p, src)
	}

	up, err := c.Create(ctx, create)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	done, uncertain, err := c.sendAndComplete(ctx, up, r, size, partSize, concurrency, p, nil, nil)
	if err == nil {
		return done, nil
	}
	return c.afterFailure(ctx, up, size, p, uncertain, err)
}

// afterFailure finds out what became of up after UploadFile failed with err, and returns the
// *UploadError that says so; or, when the upload completed after all and its File is found, the
// completed upload. completeUncertain says whether an attempt of Complete may have taken effect.
//
// The API has no call that reads an upload, so the cancel is also the question: it succeeds on a
// pending upload, and is refused, saying so, on one that is completed, cancelled or expired.
func (c *Client) afterFailure(ctx context.Context, up *Upload, size int64, p UploadFileParams, completeUncertain bool, err error) (*Upload, error) {
	e := &UploadError{UploadID: up.ID, Filename: p.Filename, Err: err, ExpiresAt: up.ExpiresAt}
	// ctx may be done: the clean-up has a context of its own.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
	defer cancel()
	if !errors.Is(err, ErrCompletedEarlier) {
		_, h, cerr := c.cancel(cctx, up.ID, nil)
		status, _ := refusedAsAlready(cerr)
		switch {
		case cerr == nil:
			e.Status = UploadStatusCancelled
			return nil, e
		case status == UploadStatusCompleted:
			// An attempt of Complete took effect although it failed; find its File below.
		case status != "":
			e.Status = status
			return nil, e
		default:
			e.CancelErr = cerr
			// A 404 says the API does not know the upload: nothing is known of it then.
			if !h.uncertain && !completeUncertain && !IsNotFound(cerr) {
				e.Status = UploadStatusPending
			}
			return nil, e
		}
	}
	e.Status = UploadStatusCompleted
	candidates, ferr := c.filesOf(cctx, up, size, p)
	if ferr != nil {
		e.FindErr = ferr
		return nil, e
	}
	if len(candidates) != 1 {
		e.Candidates = candidates
		return nil, e
	}
	done := *up
	done.Status = UploadStatusCompleted
	done.File = &candidates[0]
	return &done, nil
}

// filesOf lists the Files that up may have produced: of its purpose, filename and size, created
// no earlier than the upload, and expiring as it asked. Files are listed newest first, so the
// listing stops at the first File older than the upload.
func (c *Client) filesOf(ctx context.Context, up *Upload, size int64, p UploadFileParams) ([]File, error) {
	var found []File
	for f, err := range c.ListFiles(ctx, ListFilesParams{Purpose: p.Purpose, Order: ListOrderDesc}) {
		if err != nil {
			return nil, err
		}
		if f.CreatedAt < up.CreatedAt {
			break
		}
		if f.Filename != up.Filename || f.Bytes != size || f.Purpose != p.Purpose {
			continue
		}
		if p.ExpiresAfter != 0 && (f.ExpiresAt == nil || *f.ExpiresAt != f.CreatedAt+int64(p.ExpiresAfter/time.Second)) {
			continue
		}
		found = append(found, f)
	}
	return found, nil
}

// probe checks that r can be read at its first and last byte, so that a wrong size or an unreadable
// input fails before the upload is created.
func probe(r io.ReaderAt, size int64) error {
	var b [1]byte
	for _, off := range []int64{0, size - 1} {
		if n, err := r.ReadAt(b[:], off); n != 1 {
			if err == nil || errors.Is(err, io.EOF) {
				return fmt.Errorf("input is shorter than %d bytes: no byte at offset %d", size, off)
			}
			return fmt.Errorf("read input at offset %d: %w", off, err)
		}
	}
	return nil
}

// sendAndComplete sends the parts of up and completes it. On failure it also says whether an
// attempt of Complete may have taken effect without its answer arriving. The parts in have (by
// index) were sent before and are not sent again; record, when not nil, is told of each part the
// API acknowledged, and its failure fails the upload.
func (c *Client) sendAndComplete(ctx context.Context, up *Upload, r io.ReaderAt, size, partSize int64, concurrency int, p UploadFileParams,
	have map[int]string, record func(int, string) error) (*Upload, bool, error) {
	parts := int((size + partSize - 1) / partSize)
	work, stop := context.WithCancelCause(ctx)
	defer stop(nil)

	var sum <-chan hashResult
	if p.MD5 {
		sum = hashInBackground(work, r, size)
	}

	prog := c.newProgressTracker(p.Progress, up, size, parts)
	defer prog.flush()
	ids := make([]string, parts)
	if len(have) > 0 {
		prog.mu.Lock()
		for k, id := range have {
			ids[k] = id
			prog.state.Sent += min(partSize, size-int64(k)*partSize)
			prog.state.PartsDone++
		}
		prog.mu.Unlock()
		prog.flush()
	}
	next := make(chan int)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for range min(concurrency, parts) {
		wg.Go(func() {
			for k := range next {
				off := int64(k) * partSize
				n := min(partSize, size-off)
				part, err := c.AddPart(work, up.ID, &progressReader{r: io.NewSectionReader(r, off, n), t: prog})
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("part %d of %d: %w", k+1, parts, err) })
					stop(err)
					continue
				}
				ids[k] = part.ID
				if record != nil {
					if err := record(k, part.ID); err != nil {
						errOnce.Do(func() { firstErr = err })
						stop(err)
						continue
					}
				}
				prog.partDone()
			}
		})
	}
feed:
	for k := range parts {
		if ids[k] != "" {
			continue
		}
		select {
		case next <- k:
		case <-work.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, false, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	var md5Sum string
	if sum != nil {
		res := <-sum
		if res.err != nil {
			return nil, false, res.err
		}
		md5Sum = res.sum
	}
	done, h, err := c.complete(ctx, up.ID, ids, md5Sum, nil)
	return done, h.uncertain, err
}

type hashResult struct {
	sum string
	err error
}

// hashInBackground computes the MD5 of the first size bytes of r, in one sequential read.
func hashInBackground(ctx context.Context, r io.ReaderAt, size int64) <-chan hashResult {
	out := make(chan hashResult, 1)
	go func() {
		h := md5.New()
		_, err := io.Copy(h, &ctxReader{ctx: ctx, r: io.NewSectionReader(r, 0, size)})
		if err != nil {
			out <- hashResult{err: fmt.Errorf("compute MD5: %w", err)}
			return
		}
		out <- hashResult{sum: hex.EncodeToString(h.Sum(nil))}
	}()
	return out
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// progressInterval is the least time between two calls of a Progress callback, but for the first
// and the last.
const progressInterval = 200 * time.Millisecond

// progressTracker adds up the bytes sent by all parts and reports them, one call at a time and at
// most once per interval, except for the first call and the last (flush).
type progressTracker struct {
	mu       sync.Mutex
	fn       func(Progress)
	now      func() time.Time
	interval time.Duration
	state    Progress
	reported Progress  // the state last reported
	last     time.Time // when it was reported

	after     func(d time.Duration, f func()) (stop func() bool)
	scheduled bool // a report of the latest change is due when the interval ends
}

// newProgressTracker returns the tracker of the upload up, and reports its start.
func (c *Client) newProgressTracker(fn func(Progress), up *Upload, size int64, parts int) *progressTracker {
	t := &progressTracker{fn: fn, now: c.now, after: c.afterFunc, interval: c.progressInterval, state: Progress{
		UploadID: up.ID, ExpiresAt: time.Unix(up.ExpiresAt, 0), Total: size, Parts: parts,
	}}
	if fn != nil {
		t.mu.Lock()
		t.report()
		t.mu.Unlock()
	}
	return t
}

// report calls fn with the state. t.mu must be held.
func (t *progressTracker) report() {
	t.reported, t.last = t.state, t.now()
	t.fn(t.state)
}

// change changes the state and reports it, unless it was reported less than an interval ago; the
// change that accepts the last part is always reported.
func (t *progressTracker) change(f func(*Progress)) {
	if t.fn == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f(&t.state)
	wait := t.interval - t.now().Sub(t.last)
	switch {
	case t.state.PartsDone == t.state.Parts || wait <= 0:
		t.report()
	case !t.scheduled:
		// Report the change when the interval ends, even if nothing changes after it: the last state
		// before a pause (parts held up, a slow complete) is shown, not one an interval older.
		t.scheduled = true
		t.after(wait, t.flush)
	}
}

func (t *progressTracker) add(n int64) {
	if n != 0 {
		t.change(func(p *Progress) { p.Sent += n })
	}
}

func (t *progressTracker) partDone() { t.change(func(p *Progress) { p.PartsDone++ }) }

// flush reports the state if it changed since it was last reported: the interval ended, or the sending.
func (t *progressTracker) flush() {
	if t.fn == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.scheduled = false
	if t.state != t.reported {
		t.report()
	}
}

// progressReader reads one part and reports what it read; when AddPart rewinds it for a retry,
// the bytes of the failed attempt are taken back.
type progressReader struct {
	r    *io.SectionReader
	t    *progressTracker
	read int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.read += int64(n)
	p.t.add(int64(n))
	return n, err
}

func (p *progressReader) Seek(offset int64, whence int) (int64, error) {
	pos, err := p.r.Seek(offset, whence)
	if err == nil && pos < p.read {
		p.t.add(pos - p.read)
		p.read = pos
	}
	return pos, err
}
