// Package uploads is a Go client for the OpenAI Uploads API, which sends one large file (up to
// 8 GiB) as many parts of up to 64 MiB each and then turns it into a File.
//
// # Getting started
//
// NewClient reads OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID and OPENAI_PROJECT_ID, and options
// override them:
//
//	client, err := uploads.NewClient(uploads.WithMaxRetries(3))
//	if err != nil {
//		log.Fatal(err)
//	}
//	up, err := client.UploadFile(ctx, "train.jsonl", uploads.UploadFileParams{
//		Purpose: uploads.PurposeFineTune,
//		MD5:     true,
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	fmt.Println(up.File.ID)
//
// UploadFile (and UploadReaderAt, for any io.ReaderAt, and UploadReader, for a stream read once)
// does the whole lifecycle: create, parts in parallel, complete, and cancel on failure. The single steps are Client.Create, Client.AddPart,
// Client.Complete and Client.Cancel; Client.RetrieveFile and Client.DownloadFile read the result,
// Client.ListFiles lists the Files over all pages (an iter.Seq2) and Client.DeleteFile deletes one.
//
// # Errors
//
// Every answer of the API with a status other than 2xx is an *APIError, whatever its body; its
// Error method says what was being done, the status and the API's message. Transport failures
// are wrapped with %w, so errors.Is and errors.As see through them. Arguments the client refuses
// before sending anything are an *InvalidParamError, and a failed UploadFile is an *UploadError that
// says what became of the upload (its Status).
//
//	_, err := client.Cancel(ctx, uploadID)
//	var apiErr *uploads.APIError
//	switch {
//	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound: // or uploads.IsNotFound(err)
//		// no such upload
//	case uploads.IsUnauthorized(err): // 401: the API key is wrong
//	case uploads.IsRateLimited(err): // 429, after the retries ran out
//	case err != nil:
//		// a transport error, a cancelled context, ...
//	}
//
// # Retries and timeouts
//
// A request is retried, twice by default (WithMaxRetries), on connection errors, on an attempt that
// ran out of the time WithTimeout gives it, and on 408, 409, 429 and 5xx answers. The server's
// x-should-retry header overrides that rule, except that 400, 401, 403 and 404 are never retried.
// The wait before a retry is what retry-after-ms or retry-after asks for (at most a minute), else an
// exponential backoff with jitter from half a second up to 8 seconds. No wait goes past the
// context's deadline: when it would, the call returns at once with the last failure. A part is
// retried only when its reader can be rewound (see Client.AddPart).
//
// Each wait has a bound that fits it. An attempt of a JSON call gets a minute (WithTimeout). The
// bytes of a part, and of a download, have no wall-clock limit, since 64 MiB on a slow link may take
// many minutes: the attempt is cut off instead when they stop moving for a minute
// (WithStallTimeout). Once a part is sent, the wait for its answer is bounded by WithTimeout.
//
// A failed attempt may have done its work with its answer lost. Complete and Cancel are not
// idempotent: when a retry of one is refused because an earlier attempt already completed or
// cancelled the upload, Cancel succeeds and Complete returns a *CompletedEarlierError
// (errors.Is(err, ErrCompletedEarlier)). A lost answer to Create or AddPart leaves at most an
// unused upload, which expires, or an unused part, which completing leaves out. UploadFile,
// UploadReaderAt and UploadReader never cancel an upload a lost answer completed: they find its
// File in the Files list instead.
//
// # Resuming
//
// UploadFileParams.Journal names a file in which UploadFile and UploadReaderAt record the upload
// and each part the API acknowledged. Run again with the same Journal after a crash or a failure,
// they send only the parts not recorded, as long as the source, the parameters and the upload
// (not within ResumeMargin of its expiry) still match; OnJournal says whether the call resumed or
// why it started over. UploadReader takes no Journal: a stream cannot be read again.
//
// # Forward compatibility
//
// The models (Upload, UploadPart, File, ...) are aliases of the generated ones in package gen.
// Unknown fields are ignored and unknown enum values decode as they are (their Valid method
// reports false). For what this version does not model, pass CaptureResponse to a call to get the
// raw JSON body and the headers of the answer.
package uploads
