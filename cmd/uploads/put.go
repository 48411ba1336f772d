package main

import (
	"context"
	"errors"
	"fmt"
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

Ctrl-C cancels the upload on the server, prints the ID of the cancelled upload and exits with 130; a
second Ctrl-C exits at once without waiting for the cancel.`,
		Example: `  uploads put train.jsonl --purpose fine-tune
  uploads put big.jsonl --purpose batch --part-size 16MiB --concurrency 8 --md5 --json`,
		Args: exactArgs("FILE"),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return a.put(cmd.Context(), args[0], f)
		}),
	}
	flags := cmd.Flags()
	flags.StringVar(&f.purpose, "purpose", "", "purpose of the file: assistants, batch, fine-tune, vision, user_data or evals (required)")
	flags.StringVar(&f.filename, "filename", "", "name to upload the file under (default: the base name of FILE)")
	flags.StringVar(&f.mimeType, "mime-type", "", "MIME type of the file (default: guessed from its name)")
	flags.StringVar(&f.partSize, "part-size", "64MiB", "size of each part but the last, at most 64MiB, such as 8MiB or 524288")
	flags.IntVar(&f.concurrency, "concurrency", uploads.DefaultConcurrency, "how many parts to send at once")
	flags.BoolVar(&f.md5, "md5", false, "have the server check the MD5 of the whole file (reads the file twice)")
	flags.StringVar(&f.expiresAfter, "expires-after", "", "make the File expire this long after it is created, such as 24h (1h to 720h)")
	flags.BoolVarP(&f.verbose, "verbose", "v", false, "print a line per finished part")
	flags.StringVar(&f.progress, "progress", string(progressAuto), "progress bar on stderr: auto (when stderr is a terminal), bar or none")
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
	if p.PartSize, err = parseSize(f.partSize); err != nil {
		return p, "", usagef("--part-size: %v", err)
	}
	if p.PartSize < 1 || p.PartSize > uploads.MaxPartSize {
		return p, "", usagef("--part-size %s is not between 1 byte and 64MiB", f.partSize)
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
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("upload %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return usagef("%s is not a regular file", path)
	}
	client, err := a.client()
	if err != nil {
		return err
	}
	name := params.Filename
	if name == "" {
		name = filepath.Base(path)
	}
	view := newProgressView(a.env.stderr, a.env.stderrIsTTY, mode, f.verbose, name, info.Size())
	params.Progress = view.update
	up, err := client.UploadFile(ctx, path, params)
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
	return a.printKnownUpload(upErr.UploadID, uploads.UploadStatusCompleted, true)
}

// reportInterrupted says, in one line on stderr, what became of the upload an interrupt stopped.
func (a *app) reportInterrupted(err error) {
	var upErr *uploads.UploadError
	if !errors.As(err, &upErr) {
		fmt.Fprintln(a.env.stderr, "interrupted before the upload was created")
		return
	}
	expires := formatTime(upErr.ExpiresAt)
	switch upErr.Status {
	case uploads.UploadStatusCancelled:
		fmt.Fprintf(a.env.stderr, "interrupted: cancelled upload %s\n", upErr.UploadID)
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
