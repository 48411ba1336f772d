package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/uploadkit/uploads"
)

// createCommand is `uploads create`: start an upload that parts are then added to.
func (a *app) createCommand() *cobra.Command {
	var filename, purpose, size, mimeType, expiresAfter string
	cmd := &cobra.Command{
		Use:   "create --filename NAME --purpose PURPOSE --bytes SIZE [--mime-type TYPE]",
		Short: "Create an upload (the first step of doing one by hand)",
		Long: `Create an upload for a file of the given name and size. Add its parts with 'uploads add-part', then
finish it with 'uploads complete'. 'uploads put' does all three steps for you.`,
		Example: "  uploads create --filename train.jsonl --purpose fine-tune --bytes 5GiB",
		Args:    cobra.NoArgs,
		RunE: a.action(func(cmd *cobra.Command, _ []string) error {
			bytes, err := parseSize(size)
			if err != nil {
				return usagef("--bytes: %v", err)
			}
			if err := checkPurpose(purpose); err != nil {
				return err
			}
			params := uploads.CreateParams{Filename: filename, Purpose: uploads.Purpose(purpose), Bytes: bytes, MIMEType: mimeType}
			if params.MIMEType == "" {
				params.MIMEType = uploads.GuessMIMETypeFor(filename, params.Purpose)
			}
			if params.ExpiresAfter, err = expiresAfterFlag(expiresAfter); err != nil {
				return err
			}
			return callAndPrint(a, func(client *uploads.Client, capture uploads.CallOption) (*uploads.Upload, error) {
				return client.Create(cmd.Context(), params, capture)
			}, uploadSummary, func(u *uploads.Upload) string { return u.ID })
		}),
	}
	flags := cmd.Flags()
	flags.StringVar(&filename, "filename", "", "name of the file (required)")
	flags.StringVar(&purpose, "purpose", "", "purpose of the file: assistants, batch, fine-tune, vision, user_data or evals (required)")
	flags.StringVar(&size, "bytes", "", "size of the whole file, such as 1048576 or 5GiB (required)")
	flags.StringVar(&mimeType, "mime-type", "", "MIME type of the file (default: guessed from --filename)")
	flags.StringVar(&expiresAfter, "expires-after", "", "make the File expire this long after it is created, such as 24h (1h to 720h)")
	for _, name := range []string{"filename", "purpose", "bytes"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

// addPartCommand is `uploads add-part ID FILE`: send one part of a pending upload.
func (a *app) addPartCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "add-part UPLOAD_ID FILE",
		Short: "Add one part (at most 64 MiB) to a pending upload",
		Long: `Send FILE as the next part of a pending upload and print the part's ID, which 'uploads complete'
needs (alone on stdout when stdout is not a terminal, so that P=$(uploads add-part ...) captures it).
FILE '-' reads the part from standard input (sent once, never retried).`,
		Example: "  uploads add-part upload_abc123 part-0001.bin",
		Args:    exactArgs("UPLOAD_ID", "FILE"),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return callAndPrint(a, func(client *uploads.Client, capture uploads.CallOption) (*uploads.UploadPart, error) {
				data := a.env.stdin
				if args[1] != "-" {
					f, err := os.Open(args[1])
					if err != nil {
						return nil, fmt.Errorf("open the part: %w", err)
					}
					defer f.Close()
					data = f
				}
				return client.AddPart(cmd.Context(), args[0], data, capture)
			}, partSummary, func(p *uploads.UploadPart) string { return p.ID })
		}),
	}
}

// completeCommand is `uploads complete ID PART_ID…`: turn an upload's parts into a File.
func (a *app) completeCommand() *cobra.Command {
	var partIDs []string
	var md5 string
	cmd := &cobra.Command{
		Use:   "complete UPLOAD_ID PART_ID... [--md5 HEX]",
		Short: "Complete an upload from its parts, in the order given",
		Long: `Complete an upload from its parts, in the order given, and print the File it made. The part IDs
follow the upload ID, or come with --part (repeated, or separated by commas), or both: the arguments
first, then the --part values.`,
		Example: `  uploads complete upload_abc123 part_1 part_2
  uploads complete upload_abc123 --part part_1,part_2 --md5 9e107d9d372bb6826bd81d3542a419d6`,
		Args: completeArgs,
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			ids := append(args[1:len(args):len(args)], partIDs...)
			if len(ids) == 0 {
				return usagef("%s: no part IDs: give them after UPLOAD_ID or with --part (usage: %s)", cmd.CommandPath(), cmd.UseLine())
			}
			err := callAndPrint(a, func(client *uploads.Client, capture uploads.CallOption) (*uploads.Upload, error) {
				return client.Complete(cmd.Context(), args[0], uploads.CompleteParams{PartIDs: ids, MD5: strings.TrimSpace(md5)}, capture)
			}, uploadSummary, func(u *uploads.Upload) string {
				if u.File != nil {
					return u.File.ID
				}
				return u.ID
			})
			if !errors.Is(err, uploads.ErrCompletedEarlier) {
				return err
			}
			// What was asked for happened: the upload is completed. Only its File is not known.
			fmt.Fprintf(a.env.stderr, "note: the answer to complete was lost, and the retry found upload %s already completed; "+
				"its File is in the Files list\n", args[0])
			return a.printCompletedWithoutFile(args[0])
		}),
	}
	cmd.Flags().StringSliceVar(&partIDs, "part", nil, "ID of a part, in file order; repeat it or separate IDs with commas")
	cmd.Flags().StringVar(&md5, "md5", "", "MD5 of the whole file, 32 hexadecimal digits, for the server to check")
	return cmd
}

// completeArgs requires the upload ID and takes any number of part IDs after it.
func completeArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return usagef("%s: missing UPLOAD_ID (usage: %s)", cmd.CommandPath(), cmd.UseLine())
	}
	if strings.TrimSpace(args[0]) == "" {
		return usagef("%s: UPLOAD_ID is empty", cmd.CommandPath())
	}
	return nil
}

// cancelCommand is `uploads cancel ID`: cancel a pending upload.
func (a *app) cancelCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "cancel UPLOAD_ID",
		Short:   "Cancel a pending upload",
		Example: "  uploads cancel upload_abc123",
		Args:    exactArgs("UPLOAD_ID"),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			client, err := a.client()
			if err != nil {
				return err
			}
			var raw uploads.Response
			up, err := client.Cancel(cmd.Context(), args[0], uploads.CaptureResponse(&raw))
			if err != nil {
				return err
			}
			if raw.AnswerLost {
				// The upload is cancelled, but no answer described it: print only what is known.
				fmt.Fprintf(a.env.stderr, "note: the answer to cancel was lost, and the retry found upload %s already cancelled\n", up.ID)
				return a.printKnownUpload(up.ID, up.Status)
			}
			return a.printObject(&raw, up, uploadSummary(up))
		}),
	}
}

// fileCommand is `uploads file`: the Files a completed upload produced.
func (a *app) fileCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "file",
		Short: "List, look at, download and delete the Files completed uploads produced",
		Args:  cobra.NoArgs,
		RunE:  requireSubcommand,
	}
	cmd.AddCommand(a.fileListCommand(), a.fileGetCommand(), a.fileDownloadCommand(), a.fileDeleteCommand())
	return cmd
}

// fileGetCommand is `uploads file get ID`.
func (a *app) fileGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "get FILE_ID",
		Short:   "Show a File",
		Example: "  uploads file get file-abc123",
		Args:    exactArgs("FILE_ID"),
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			return callAndPrint(a, func(client *uploads.Client, capture uploads.CallOption) (*uploads.File, error) {
				return client.RetrieveFile(cmd.Context(), args[0], capture)
			}, fileSummary, nil)
		}),
	}
}

// fileDownloadCommand is `uploads file download ID -o OUT`.
func (a *app) fileDownloadCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "download FILE_ID -o OUT",
		Short: "Download the content of a File",
		Long: `Download the content of a File into OUT ('-' for standard output). The content goes to a temporary
file beside OUT that is renamed to OUT only when the whole content arrived, so a failed download never
leaves a partial OUT behind. On a terminal a progress bar on stderr shows the bytes, the rate and the
time left.`,
		Example: "  uploads file download file-abc123 -o train.jsonl",
		Args:    exactArgs("FILE_ID"),
		RunE: a.action(func(cmd *cobra.Command, args []string) (err error) {
			if out == "" {
				return usagef("-o is empty: name the file to write, or '-' for standard output")
			}
			client, err := a.client()
			if err != nil {
				return err
			}
			var raw uploads.Response
			body, err := client.DownloadFile(cmd.Context(), args[0], uploads.CaptureResponse(&raw))
			if err != nil {
				return err
			}
			defer body.Close()
			var content io.Reader = body
			// A bar on a terminal, unless the content itself goes to the same terminal.
			if a.env.stderrIsTTY && (out != "-" || !a.env.stdoutIsTTY) {
				label := args[0] + " -> " + filepath.Base(out)
				if out == "-" {
					label = args[0]
				}
				view := newDownloadView(cmd.Context(), viewConfig{stderr: a.env.stderr, width: a.env.width}, label, contentLength(&raw))
				content = view.reader(body)
				defer func() { view.finish(err == nil) }()
			}
			if out == "-" {
				if _, err = io.Copy(a.env.stdout, content); err != nil {
					return fmt.Errorf("download file %s: %w", args[0], err)
				}
				return nil
			}
			if err = writeFileAtomically(out, content); err != nil {
				return fmt.Errorf("download file %s: %w", args[0], err)
			}
			return nil
		}),
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write the content to, '-' for standard output (required)")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

// writeFileAtomically copies r into a temporary file beside path and renames it to path once all of r was
// written and synced; on any failure the temporary file is removed and path is left as it was.
func writeFileAtomically(path string, r io.Reader) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".part-*")
	if err != nil {
		return fmt.Errorf("create a temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := io.Copy(tmp, r); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("set the mode of %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	return nil
}

// callAndPrint builds the client, makes one call with it that captures the API's answer, and prints the object
// the call returned: the steps every command that makes or shows one object shares. id, for a command that
// makes an object, is the ID a script captures (see printMade); nil for a command that shows one.
func callAndPrint[T any](a *app, call func(client *uploads.Client, capture uploads.CallOption) (*T, error), summary func(*T) []field, id func(*T) string) error {
	client, err := a.client()
	if err != nil {
		return err
	}
	var raw uploads.Response
	v, err := call(client, uploads.CaptureResponse(&raw))
	if err != nil {
		return err
	}
	if id != nil {
		return a.printMade(&raw, v, id(v), summary(v))
	}
	return a.printObject(&raw, v, summary(v))
}

// exactArgs requires exactly the named positional arguments, and says which are missing or extra.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return usagef("%s: missing %s (usage: %s)", cmd.CommandPath(), strings.Join(names[len(args):], " "), cmd.UseLine())
		case len(args) > len(names):
			return usagef("%s: unexpected argument %q (usage: %s)", cmd.CommandPath(), args[len(names)], cmd.UseLine())
		}
		for i, arg := range args {
			if strings.TrimSpace(arg) == "" {
				return usagef("%s: %s is empty", cmd.CommandPath(), names[i])
			}
		}
		return nil
	}
}

// expiresAfterFlag reads --expires-after; empty means the File never expires.
func expiresAfterFlag(value string) (time.Duration, error) {
	if value == "" {
		return 0, nil
	}
	seconds, err := parseExpiresAfter(value)
	if err != nil {
		return 0, usagef("%v", err)
	}
	return time.Duration(seconds) * time.Second, nil
}
