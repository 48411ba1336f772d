package uploads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/uploadkit/uploads/gen"
	"github.com/uploadkit/uploads/internal/limits"
)

// Client calls the Uploads API. It is safe for concurrent use by several goroutines.
type Client struct {
	api          *gen.Client
	baseURL      string
	maxRetries   int
	timeout      time.Duration
	stallTimeout time.Duration

	// The clock and the dice, replaced in tests so that retries take no real time.
	sleep     func(ctx context.Context, d time.Duration) error
	afterFunc func(d time.Duration, f func()) (stop func() bool)
	now       func() time.Time
	jitter    func() float64
	// progressInterval is the least time between two Progress calls (progressInterval).
	progressInterval time.Duration
}

// NewClient returns a Client configured from the environment (OPENAI_API_KEY, OPENAI_BASE_URL,
// OPENAI_ORG_ID, OPENAI_PROJECT_ID) and then from opts. It fails with ErrMissingAPIKey when no API
// key is set, and when an option is invalid.
func NewClient(opts ...Option) (*Client, error) {
	cfg := defaultConfig(os.Getenv)
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("new client: %w", err)
		}
	}
	if strings.TrimSpace(cfg.apiKey) == "" {
		return nil, ErrMissingAPIKey
	}
	base, err := normalizeBaseURL(cfg.baseURL)
	if err != nil {
		return nil, fmt.Errorf("new client: %w", err)
	}
	hc := cfg.httpClient
	if hc == nil {
		hc = &http.Client{}
	}
	c := &Client{
		baseURL:      base,
		maxRetries:   cfg.maxRetries,
		timeout:      cfg.timeout,
		stallTimeout: cfg.stallTimeout,
		sleep:        realSleep,
		afterFunc:    realAfterFunc,
		now:          time.Now,
		jitter:       rand.Float64,

		progressInterval: progressInterval,
	}
	api, err := gen.NewClient(base,
		gen.WithHTTPClient(chain(hc, cfg.middlewares)),
		gen.WithRequestEditorFn(headerEditor(cfg)))
	if err != nil {
		return nil, fmt.Errorf("new client: %w", err)
	}
	c.api = api
	return c, nil
}

// headerEditor sets the headers every request carries. The values of the fixed headers share one
// array per request, each in a slice of its own that cannot grow into the next: one allocation
// instead of one per header, on the path every call takes.
func headerEditor(cfg config) gen.RequestEditorFn {
	type field struct{ key, value string }
	fixed := []field{{"Authorization", "Bearer " + strings.TrimSpace(cfg.apiKey)}}
	if cfg.organization != "" {
		fixed = append(fixed, field{http.CanonicalHeaderKey("OpenAI-Organization"), cfg.organization})
	}
	if cfg.project != "" {
		fixed = append(fixed, field{http.CanonicalHeaderKey("OpenAI-Project"), cfg.project})
	}
	if cfg.userAgent != "" {
		fixed = append(fixed, field{"User-Agent", cfg.userAgent})
	}
	extra := cfg.header.Clone()
	return func(_ context.Context, req *http.Request) error {
		values := make([]string, len(fixed)+1)
		for i, f := range fixed {
			values[i] = f.value
			req.Header[f.key] = values[i : i+1 : i+1]
		}
		if req.Header.Get("Accept") == "" {
			i := len(fixed)
			values[i] = "application/json"
			req.Header["Accept"] = values[i : i+1 : i+1]
		}
		for k, vs := range extra {
			req.Header[k] = append([]string(nil), vs...)
		}
		return nil
	}
}

// doerFunc lets a function be the generated client's HttpRequestDoer.
type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(req *http.Request) (*http.Response, error) { return f(req) }

// chain puts the middlewares in front of the HTTP client, the first one outermost.
func chain(hc *http.Client, mws []Middleware) doerFunc {
	next := MiddlewareNext(hc.Do)
	for i := len(mws) - 1; i >= 0; i-- {
		mw, inner := mws[i], next
		next = func(req *http.Request) (*http.Response, error) { return mw(req, inner) }
	}
	return doerFunc(next)
}

// CreateParams describes the file an upload will carry.
type CreateParams struct {
	// Filename is the name of the file. Required.
	Filename string
	// Purpose is what the file is for, such as PurposeFineTune. Required.
	Purpose Purpose
	// Bytes is the size of the whole file: at least 1, at most MaxUploadSize. Required.
	Bytes int64
	// MIMEType is the type of the file, such as "text/jsonl"; it must be one the API supports for
	// the purpose. Required.
	MIMEType string
	// ExpiresAfter, when not zero, makes the resulting File expire this long after it is created:
	// whole seconds from one hour to 30 days.
	ExpiresAfter time.Duration
}

// The range the API allows for CreateParams.ExpiresAfter.
const (
	minExpiresAfter = time.Duration(limits.MinFileExpiresAfterSeconds) * time.Second
	maxExpiresAfter = time.Duration(limits.MaxFileExpiresAfterSeconds) * time.Second
)

func (p CreateParams) request(op string) (gen.CreateUploadRequest, error) {
	bad := func(param, reason string) error {
		return &InvalidParamError{Operation: op, Param: param, Reason: reason}
	}
	switch {
	case strings.TrimSpace(p.Filename) == "":
		return gen.CreateUploadRequest{}, bad("filename", "empty")
	case strings.TrimSpace(string(p.Purpose)) == "":
		return gen.CreateUploadRequest{}, bad("purpose", "empty")
	case p.Bytes < 1 || p.Bytes > MaxUploadSize:
		return gen.CreateUploadRequest{}, bad("bytes", fmt.Sprintf("%d is not between 1 and %d", p.Bytes, MaxUploadSize))
	case strings.TrimSpace(p.MIMEType) == "":
		return gen.CreateUploadRequest{}, bad("MIME type", "empty")
	}
	req := gen.CreateUploadRequest{Filename: p.Filename, Purpose: p.Purpose, Bytes: p.Bytes, MIMEType: p.MIMEType}
	if p.ExpiresAfter != 0 {
		if p.ExpiresAfter < minExpiresAfter || p.ExpiresAfter > maxExpiresAfter || p.ExpiresAfter%time.Second != 0 {
			return gen.CreateUploadRequest{}, bad("expires after", fmt.Sprintf("%v is not whole seconds from %v to %v", p.ExpiresAfter, minExpiresAfter, maxExpiresAfter))
		}
		req.ExpiresAfter = &gen.FileExpirationAfter{Anchor: gen.FileExpirationAfterAnchorCreatedAt, Seconds: int64(p.ExpiresAfter / time.Second)}
	}
	return req, nil
}

// Create creates an upload that parts can then be added to. The upload is pending and expires an
// hour after it is created.
func (c *Client) Create(ctx context.Context, p CreateParams, opts ...CallOption) (*Upload, error) {
	const op = "create upload"
	body, err := p.request(op)
	if err != nil {
		return nil, err
	}
	var up Upload
	err = c.callJSON(ctx, request{op: op, send: func(ctx context.Context) (*http.Response, error) {
		return c.api.CreateUpload(ctx, body)
	}}, opts, &up)
	if err != nil {
		return nil, err
	}
	return &up, nil
}

var md5Hex = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)

// CompleteParams says how to complete an upload.
type CompleteParams struct {
	// PartIDs are the IDs of the parts, in the order of the file (AddPart returns each). Parts of
	// the upload not named here are left out of the File. Required.
	PartIDs []string
	// MD5, when not empty, is the MD5 of the whole file as 32 hexadecimal digits, for the API to
	// check before it completes the upload.
	MD5 string
}

// Complete completes an upload with the parts p names, in that order, checking p.MD5 when given.
// The returned upload is completed and carries its File.
//
// Completing is not idempotent, yet it is retried like every call, since an attempt that failed
// may well not have reached the API. When an attempt may have completed the upload without its
// answer arriving and the retry is refused as already completed, the error is a
// *CompletedEarlierError (errors.Is(err, ErrCompletedEarlier)): the upload is completed, its File
// exists, and the API will not say which it is again.
func (c *Client) Complete(ctx context.Context, uploadID string, p CompleteParams, opts ...CallOption) (*Upload, error) {
	up, _, err := c.complete(ctx, uploadID, p.PartIDs, p.MD5, opts)
	return up, err
}

// complete is Complete, also saying how its attempts went.
func (c *Client) complete(ctx context.Context, uploadID string, partIDs []string, md5 string, opts []CallOption) (*Upload, attempts, error) {
	const what = "complete upload"
	var (
		up Upload
		h  attempts
	)
	if err := checkID(what, "upload ID", uploadID); err != nil {
		return nil, h, err
	}
	op := what + " " + uploadID
	if len(partIDs) == 0 {
		return nil, h, &InvalidParamError{Operation: op, Param: "part IDs", Reason: "none given"}
	}
	for i, id := range partIDs {
		if strings.TrimSpace(id) == "" {
			return nil, h, &InvalidParamError{Operation: op, Param: "part IDs", Reason: fmt.Sprintf("ID %d is empty", i)}
		}
	}
	body := gen.CompleteUploadRequest{PartIDs: partIDs}
	if md5 != "" {
		if !md5Hex.MatchString(md5) {
			return nil, h, &InvalidParamError{Operation: op, Param: "MD5", Reason: fmt.Sprintf("%q is not 32 hexadecimal digits", md5)}
		}
		body.MD5 = &md5
	}
	err := c.callJSON(ctx, request{op: op, history: &h, send: func(ctx context.Context) (*http.Response, error) {
		return c.api.CompleteUpload(ctx, uploadID, body)
	}}, opts, &up)
	if err != nil {
		if status, refusal := refusedAsAlready(err); h.lost != nil && status == UploadStatusCompleted {
			return nil, h, &CompletedEarlierError{Operation: op, UploadID: uploadID, Lost: h.lost, Refusal: refusal}
		}
		return nil, h, err
	}
	return &up, h, nil
}

// Cancel cancels a pending upload; no part can be added to it afterwards. The returned upload is
// cancelled.
//
// Cancelling is not idempotent, yet it is retried like every call. When an attempt may have
// cancelled the upload without its answer arriving and the retry is refused as already cancelled,
// Cancel succeeds: the upload is cancelled. The API answered no attempt with the upload, so the
// returned one holds only its ID, object and status, and CaptureResponse records the refusal with
// AnswerLost set. A first attempt refused as already cancelled is an *APIError, as ever.
func (c *Client) Cancel(ctx context.Context, uploadID string, opts ...CallOption) (*Upload, error) {
	up, _, err := c.cancel(ctx, uploadID, opts)
	return up, err
}

// cancel is Cancel, also saying how its attempts went.
func (c *Client) cancel(ctx context.Context, uploadID string, opts []CallOption) (*Upload, attempts, error) {
	const what = "cancel upload"
	var h attempts
	if err := checkID(what, "upload ID", uploadID); err != nil {
		return nil, h, err
	}
	var up Upload
	err := c.callJSON(ctx, request{op: what + " " + uploadID, history: &h, send: func(ctx context.Context) (*http.Response, error) {
		return c.api.CancelUpload(ctx, uploadID)
	}}, opts, &up)
	if err != nil {
		status, refusal := refusedAsAlready(err)
		if h.lost == nil || status != UploadStatusCancelled {
			return nil, h, err
		}
		if cc := applyCallOptions(opts); cc.response != nil {
			*cc.response = Response{StatusCode: refusal.StatusCode, Header: refusal.Header, Body: refusal.Body, AnswerLost: true}
		}
		return &Upload{ID: uploadID, Object: gen.UploadObjectUpload, Status: UploadStatusCancelled}, h, nil
	}
	return &up, h, nil
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

// errNoObject says a successful answer did not hold the object asked for.
var errNoObject = errors.New("the answer is not an object with an id")

// objectID is the id of the object an answer decoded into: read from the decoded value for the
// types this package decodes, so that an answer is not parsed twice, else from body.
func objectID(out any, body []byte) string {
	switch v := out.(type) {
	case *Upload:
		return v.ID
	case *UploadPart:
		return v.ID
	case *File:
		return v.ID
	case *FileDeleted:
		return v.ID
	case *FileList:
		// A list has no id of its own: it is the object asked for when it holds its array.
		if v.Data == nil {
			return ""
		}
		return string(v.Object) + " list"
	}
	var head struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &head) != nil {
		return ""
	}
	return head.ID
}

// callJSON sends r and decodes the JSON answer into out. Unknown fields and enum values decode
// without error; the raw answer goes to CaptureResponse.
func (c *Client) callJSON(ctx context.Context, r request, opts []CallOption, out any) error {
	resp, body, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: decode the answer (%d, %q): %w", r.op, resp.StatusCode, snippet(body), err)
	}
	// Every object this API returns has an id. A success without one (null, {}, an error envelope
	// sent with 200 by a proxy) decoded to nothing usable and must not pass for the object.
	if objectID(out, body) == "" {
		return fmt.Errorf("%s: decode the answer (%d, %q): %w", r.op, resp.StatusCode, snippet(body), errNoObject)
	}
	if len(opts) == 0 {
		return nil
	}
	if cc := applyCallOptions(opts); cc.response != nil {
		*cc.response = Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: body}
	}
	return nil
}
