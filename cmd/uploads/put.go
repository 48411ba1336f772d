package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/uploadkit/uploads"
)

// putFlags are the flags of `uploads put`.
type putFlags struct {
	purpose      string
	filename     string
	mimeType     string
	partSize     string
	concurrency  int
	md5          bool
	expiresAfter string
	verbose      bool
	progress     string
	size         string
	resume       bool
}

// putCommand is `uploads put FILE`: the whole upload in one command.
func (a *app) putCommand() *cobra.Command {
	var f putFlags
	cmd := &cobra.Command{
		Use:   "put FILE --purpose PURPOSE",
		Short: "Upload a file: create, send the parts in parallel, complete",
		Long: `Upload FILE in parts sent in parallel, complete the upload, and print the resulting File (its ID
alone when stdout is not a terminal; with --json, the completed Upload with its File).

On a terminal a live progress bar shows the bytes sent, the parts done, the rate and the time left; when
stderr is not a terminal nothing but the result is printed (with --verbose, also a line per finished part).

FILE '-' reads standard input, and FILE may be a FIFO or a process substitution such as <(zcat a.gz):
such a stream is read once, in order, with --size giving its length in advance (the API needs it before
the first part). A stream is held in memory a part at a time: at most --concurrency × --part-size
(4 × 16MiB = 64MiB by default).

Ctrl-C stops the bar, says "cancelling upload_..." while it cancels the upload on the server, then
"cancelled upload_...", and exits with 130; a second Ctrl-C exits at once without waiting for the cancel,
naming the upload it leaves pending and when that expires. Once every part is sent, the bar says
"completing" until the server has made the File (with --md5, "verifying the MD5" too).

An answer lost on the way never makes put lie or upload twice: when the answer to complete is lost, put
finds the File the upload made in the Files list and prints it; when it cannot tell which File that is,
it says the upload completed, names the candidates, and exits 0 (printing no ID where a script expects
the File's). A failed put says whether the upload
was cancelled, is still pending, or is in a state it could not find out.

With --resume, the upload is recorded as it goes in a journal in the user's cache directory, keyed by the
absolute path of FILE, so that running the same command again after a crash, a kill, a lost network or a
Ctrl-C sends only the parts the server did not acknowledge. Ctrl-C then leaves the upload pending (until it
expires, an hour after it was created) and says how to resume. A journal whose file changed, whose upload
expired, or that was written with other flags is not used: put says why and starts a new upload.`,
		Example: `  uploads put train.jsonl --purpose fine-tune
  uploads put big.jsonl --purpose batch --part-size 16MiB --concurrency 8 --md5 --json
  uploads put huge.jsonl --purpose batch --resume
  generate | uploads put - --size 2GiB --filename data.jsonl --purpose batch`,
		Args: exactArgs("FILE"),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return a.put(cmd.Context(), args[0], f)
		}),
	}
	flags := cmd.Flags()
	flags.StringVar(&f.purpose, "purpose", "", "purpose of the file: assistants, batch, fine-tune, vision, user_data or evals (required)")
	flags.StringVar(&f.filename, "filename", "", "name to upload the file under (default: the base name of FILE; required for '-')")
	flags.StringVar(&f.mimeType, "mime-type", "", "MIME type of the file (default: guessed from its name)")
	flags.StringVar(&f.partSize, "part-size", "", "size of each part but the last, at most 64MiB, such as 8MiB or 524288 (default 64MiB for a file, 16MiB for a stream)")
	flags.StringVar(&f.size, "size", "", "length of a stream (FILE '-', a FIFO), such as 1048576 or 2GiB; required for one")
	flags.IntVar(&f.concurrency, "concurrency", uploads.DefaultConcurrency, "how many parts to send at once")
	flags.BoolVar(&f.md5, "md5", false, "have the server check the MD5 of the whole file (a file is read twice for it, a stream hashed as it is read)")
	flags.StringVar(&f.expiresAfter, "expires-after", "", "make the File expire this long after it is created, such as 24h (1h to 720h)")
	flags.BoolVarP(&f.verbose, "verbose", "v", false, "print a line per finished part")
	flags.StringVar(&f.progress, "progress", string(progressAuto), "progress bar on stderr: auto (when stderr is a terminal), bar or none")
	flags.BoolVar(&f.resume, "resume", false, "keep a journal of the parts sent, resume from it, and leave the upload pending on Ctrl-C")
	_ = cmd.MarkFlagRequired("purpose")
	return cmd
}

// params checks the flags of put and turns them into UploadFile's parameters.
func (f putFlags) params() (uploads.UploadFileParams, progressMode, error) {
	p := uploads.UploadFileParams{
		Filename:    f.filename,
		Purpose:     uploads.Purpose(f.purpose),
		MIMEType:    f.mimeType,
		Concurrency: f.concurrency,
		MD5:         f.md5,
	}
	var err error
	if f.partSize != "" {
		if p.PartSize, err = parseSize(f.partSize); err != nil {
			return p, "", usagef("--part-size: %v", err)
		}
		if p.PartSize < 1 || p.PartSize > uploads.MaxPartSize {
			return p, "", usagef("--part-size %s is not between 1 byte and 64MiB", f.partSize)
		}
	}
	if p.Concurrency < 1 {
		return p, "", usagef("--concurrency %d: send at least one part at a time", p.Concurrency)
	}
	if p.ExpiresAfter, err = expiresAfterFlag(f.expiresAfter); err != nil {
		return p, "", err
	}
	mode := progressMode(f.progress)
	switch mode {
	case progressAuto, progressBar, progressNone:
	default:
		return p, "", usagef("--progress %q: use auto, bar or none", f.progress)
	}
	return p, mode, nil
}

// put uploads path and prints the resulting File. On an interrupt it waits for UploadFile to cancel the
// upload, then says in one line which upload was cancelled.
func (a *app) put(ctx context.Context, path string, f putFlags) error {
	params, mode, err := f.params()
	if err != nil {
		return err
	}
	if err := checkPurpose(f.purpose); err != nil {
		return err
	}
	in, err := a.openInput(path, f, &params)
	if err != nil {
		return err
	}
	defer in.close()
	if f.resume && in.stream != nil {
		return usagef("--resume needs a file: a stream cannot be read again")
	}
	client, err := a.client()
	if err != nil {
		return err
	}
	if f.resume {
		if params.Journal, err = journalPath(path); err != nil {
			return err
		}
	}
	name := params.Filename
	view := newProgressView(viewConfig{
		stderr: a.env.stderr, isTTY: a.env.stderrIsTTY, width: a.env.width, mode: mode, verbose: f.verbose,
		filename: name, total: in.size, md5: params.MD5, pending: a.env.pending, keep: f.resume,
	})
	params.Progress = view.update
	if f.resume {
		params.OnJournal = func(ev uploads.JournalEvent) { reportJournal(noteWriter(view, a.env.stderr), ev) }
	}
	// On Ctrl-C the bar stops at once and a line says the upload is being cancelled, while the upload's own
	// code cancels it.
	stopWatching := context.AfterFunc(ctx, func() {
		if interrupted(ctx) {
			view.interrupt()
		}
	})
	var up *uploads.Upload
	if in.stream != nil {
		up, err = client.UploadReader(ctx, in.stream, in.size, params)
	} else {
		up, err = client.UploadFile(ctx, path, params)
	}
	if !stopWatching() && interrupted(ctx) {
		view.interrupt() // wait for the line, which goes before the outcome
	}
	view.finish(err == nil)
	var upErr *uploads.UploadError
	if errors.As(err, &upErr) && upErr.Status == uploads.UploadStatusCompleted {
		// The file is uploaded, which is what was asked for; only which File it became is not
		// known. Uploading it again would make a second File, so this is no failure.
		return a.reportCompletedWithoutFile(upErr)
	}
	if err != nil {
		if interrupted(ctx) {
			a.reportInterrupted(err)
			return errInterrupted
		}
		if errors.As(err, &upErr) && upErr.Kept {
			fmt.Fprintf(a.env.stderr, "note: upload %s stays pending until %s; run the same command with --resume to send only the missing parts\n",
				upErr.UploadID, formatTime(upErr.ExpiresAt))
		}
		return err
	}
	if up.File == nil {
		return fmt.Errorf("upload %s: completed upload %s carries no File", name, up.ID)
	}
	return a.printMade(nil, up, up.File.ID, append(fileSummary(up.File), field{"upload", up.ID + " (" + string(up.Status) + ")"}))
}

// reportCompletedWithoutFile says that the upload completed although the answer to complete was
// lost and its File could not be told apart, and prints what is known of the upload.
func (a *app) reportCompletedWithoutFile(upErr *uploads.UploadError) error {
	var which string
	switch {
	case upErr.FindErr != nil:
		which = "its File could not be looked for: " + oneLine(describeError(upErr.FindErr))
	case len(upErr.Candidates) == 0:
		which = "no File in the Files list matches it"
	default:
		ids := make([]string, len(upErr.Candidates))
		for i, f := range upErr.Candidates {
			ids[i] = f.ID
		}
		which = "its File is one of " + strings.Join(ids, ", ")
	}
	fmt.Fprintf(a.env.stderr, "note: upload %s completed, but the answer to complete was lost and %s; do not upload the file again\n",
		upErr.UploadID, which)
	return a.printCompletedWithoutFile(upErr.UploadID)
}

// reportInterrupted says, in one line on stderr, what became of the upload an interrupt stopped.
func (a *app) reportInterrupted(err error) {
	var upErr *uploads.UploadError
	if !errors.As(err, &upErr) {
		fmt.Fprintln(a.env.stderr, "interrupted before the upload was created")
		return
	}
	expires := formatTime(upErr.ExpiresAt)
	if upErr.Kept {
		fmt.Fprintf(a.env.stderr, "interrupted: upload %s stays pending until %s; to resume it, run the same command again with --resume\n",
			upErr.UploadID, expires)
		return
	}
	switch upErr.Status {
	case uploads.UploadStatusCancelled:
		fmt.Fprintf(a.env.stderr, "cancelled %s\n", upErr.UploadID)
	case uploads.UploadStatusPending:
		fmt.Fprintf(a.env.stderr, "interrupted: upload %s could not be cancelled and stays pending until it expires at %s: %s\n",
			upErr.UploadID, expires, oneLine(describeError(upErr.CancelErr)))
	case uploads.UploadStatusExpired:
		fmt.Fprintf(a.env.stderr, "interrupted: upload %s has expired\n", upErr.UploadID)
	default:
		fmt.Fprintf(a.env.stderr, "interrupted: whether upload %s was cancelled is unknown (if it is still pending, it expires at %s): %s\n",
			upErr.UploadID, expires, oneLine(describeError(upErr.CancelErr)))
	}
}

// input is what put uploads: a regular file, by path, or a stream read once.
type input struct {
	size   int64
	stream io.Reader // nil for a regular file
	close  func()
}

// openInput opens what FILE names: '-' for standard input, a regular file, or a FIFO, character device or
// socket (a process substitution is a FIFO), read once as a stream. A stream needs --size; a name that says
// nothing ('-', /dev/fd/N) needs --filename. It sets params.Filename.
func (a *app) openInput(path string, f putFlags, params *uploads.UploadFileParams) (input, error) {
	var size int64 = -1
	if f.size != "" {
		n, err := parseSize(f.size)
		if err != nil {
			return input{}, usagef("--size: %v", err)
		}
		if n < 1 || n > uploads.MaxUploadSize {
			return input{}, usagef("--size %s is not between 1 byte and 8GiB", f.size)
		}
		size = n
	}
	if path == "-" {
		if params.Filename == "" {
			return input{}, usagef("put -: give the name to upload standard input under with --filename")
		}
		if size < 0 {
			return input{}, usagef("put -: give the length of standard input with --size (the API needs it before the first part)")
		}
		return input{size: size, stream: a.env.stdin, close: func() {}}, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return input{}, fmt.Errorf("upload %s: %w", path, err)
	}
	if params.Filename == "" {
		params.Filename = filepath.Base(path)
	}
	switch mode := info.Mode(); {
	case mode.IsRegular():
		if size >= 0 && size != info.Size() {
			return input{}, usagef("--size %s, but %s has %d bytes", f.size, path, info.Size())
		}
		return input{size: info.Size(), close: func() {}}, nil
	case mode&(os.ModeNamedPipe|os.ModeCharDevice|os.ModeSocket) != 0:
		if size < 0 {
			return input{}, usagef("%s is a stream: give its length with --size (the API needs it before the first part)", path)
		}
		if f.filename == "" && anonymousStream(path) {
			return input{}, usagef("%s has no name worth uploading under: give one with --filename", path)
		}
		file, err := os.Open(path)
		if err != nil {
			return input{}, fmt.Errorf("upload %s: %w", path, err)
		}
		return input{size: size, stream: file, close: func() { file.Close() }}, nil
	default:
		return input{}, usagef("%s is not a regular file or a stream", path)
	}
}

// anonymousStream reports whether path is a file descriptor's name, such as the /dev/fd/63 of a process
// substitution, rather than a name chosen for the data.
func anonymousStream(path string) bool {
	dir := filepath.Dir(path)
	return dir == "/dev/fd" || dir == "/dev" || strings.HasPrefix(dir, "/proc/")
}
