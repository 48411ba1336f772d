package main

import (
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/uploadkit/uploads"
)

// fileListCommand is `uploads file list`: the Files of the key, over as many pages as it takes.
func (a *app) fileListCommand() *cobra.Command {
	var purpose, order string
	var limit int
	cmd := &cobra.Command{
		Use:   "list [--purpose PURPOSE] [--limit N] [--order desc|asc]",
		Short: "List Files, newest first",
		Long: `List the Files of the API key, newest first (--order asc for oldest first), as a table: ID,
creation time, size, purpose, expiry and name. With --json, one JSON object in the API's list shape
holds them all ("has_more" says whether --limit left some out). Every page is fetched as the list
reaches it; --limit N stops after N Files (0, the default, lists them all).`,
		Example: `  uploads file list --purpose batch
  uploads file list --limit 20 --json | jq -r '.data[].id'`,
		Args: cobra.NoArgs,
		RunE: a.action(func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return usagef("--limit %d: give a number of Files, or 0 for all of them", limit)
			}
			params := uploads.ListFilesParams{Purpose: uploads.Purpose(purpose), Order: uploads.ListOrder(order)}
			if limit > 0 {
				params.Limit = min(limit, uploads.MaxListLimit)
			}
			if params.Order != "" && !params.Order.Valid() {
				return usagef("--order %q: give desc (newest first) or asc", order)
			}
			client, err := a.client()
			if err != nil {
				return err
			}
			var files []uploads.File
			more := false
			for f, err := range client.ListFiles(cmd.Context(), params) {
				if err != nil {
					return err
				}
				if limit > 0 && len(files) == limit {
					more = true
					break
				}
				files = append(files, f)
			}
			if a.json {
				return writeJSON(a.env.stdout, fileListJSON(files, more))
			}
			return writeFileTable(a, files)
		}),
	}
	flags := cmd.Flags()
	flags.StringVar(&purpose, "purpose", "", "list only Files with this purpose, such as batch or fine-tune")
	flags.IntVar(&limit, "limit", 0, "list at most this many Files (0: all)")
	flags.StringVar(&order, "order", "desc", "desc (newest first) or asc (oldest first)")
	return cmd
}

// fileListJSON is files in the shape of the API's list.
func fileListJSON(files []uploads.File, more bool) uploads.FileList {
	list := uploads.FileList{Object: "list", Data: files, HasMore: more}
	if list.Data == nil {
		list.Data = []uploads.File{}
	}
	if len(files) > 0 {
		list.FirstID, list.LastID = &files[0].ID, &files[len(files)-1].ID
	}
	return list
}

// writeFileTable writes files as an aligned table with a header line.
func writeFileTable(a *app, files []uploads.File) error {
	tw := tabwriter.NewWriter(a.env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tBYTES\tPURPOSE\tEXPIRES\tFILENAME")
	for _, f := range files {
		expires := "never"
		if f.ExpiresAt != nil {
			expires = formatTime(*f.ExpiresAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.ID, formatTime(f.CreatedAt), strconv.FormatInt(f.Bytes, 10), f.Purpose, expires, f.Filename)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// printGone prints a File that DeleteFile found gone after a lost answer, as the delete command
// prints a deleted one, with no more than is known.
func (a *app) printGone(id string) error {
	var err error
	switch {
	case a.json:
		err = writeJSON(a.env.stdout, uploads.FileDeleted{ID: id, Object: "file", Deleted: true})
	case a.env.stdoutIsTTY:
		_, err = fmt.Fprintln(a.env.stdout, "gone", id)
	default:
		_, err = fmt.Fprintln(a.env.stdout, id)
	}
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// fileDeleteCommand is `uploads file delete ID...`.
func (a *app) fileDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete FILE_ID...",
		Short: "Delete Files",
		Long: `Delete each File named, in order, and print its ID once it is gone ("deleted ID" on a terminal;
with --json, the API's answer for each). A File that cannot be deleted is reported on stderr and the
others are still deleted; the exit code is then 1.

When the answer to a delete is lost (the connection broke after the request was sent) and the retry
finds no such File, the File is gone as asked: a note on stderr says that the lost attempt most
likely deleted it, "gone ID" is printed on a terminal (the ID alone otherwise; with --json, the ID,
object and deleted: true, the API having answered no attempt with them), and it counts as done.`,
		Example: "  uploads file delete file-abc123 file-def456",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("%s: missing FILE_ID (usage: %s)", cmd.CommandPath(), cmd.UseLine())
			}
			for _, id := range args {
				if id == "" {
					return usagef("%s: a FILE_ID is empty", cmd.CommandPath())
				}
			}
			return nil
		},
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			client, err := a.client()
			if err != nil {
				return err
			}
			var failed []error
			for _, id := range args {
				var raw uploads.Response
				d, err := client.DeleteFile(cmd.Context(), id, uploads.CaptureResponse(&raw))
				var earlier *uploads.DeletedEarlierError
				if errors.As(err, &earlier) {
					// What was asked for holds: the File is gone. Whether the lost attempt deleted
					// it, no answer says; print only what is known.
					fmt.Fprintf(a.env.stderr, "note: the answer to delete was lost, and the retry found no File %s; "+
						"it is gone, most likely deleted by the lost attempt\n", id)
					if err := a.printGone(id); err != nil {
						return err
					}
					continue
				}
				if err != nil {
					if len(args) == 1 || cmd.Context().Err() != nil {
						return err
					}
					printError(a.env.stderr, err)
					failed = append(failed, err)
					continue
				}
				switch {
				case a.json:
					err = a.printObject(&raw, d, nil)
				case a.env.stdoutIsTTY:
					_, err = fmt.Fprintln(a.env.stdout, "deleted", d.ID)
				default:
					_, err = fmt.Fprintln(a.env.stdout, d.ID)
				}
				if err != nil {
					return fmt.Errorf("write output: %w", err)
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("%d of %d Files not deleted (each error above)", len(failed), len(args))
			}
			return nil
		}),
	}
}
