package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/uploadkit/uploads"
)

// field is one line of a human summary: a label and its value.
type field struct{ label, value string }

// printObject writes, with --json, the object as the API sent it (raw, when the call captured it) or else v
// as JSON; without --json, the aligned lines of summary.
func (a *app) printObject(raw *uploads.Response, v any, summary []field) error {
	if !a.json {
		return writeFields(a.env.stdout, summary)
	}
	if raw != nil && json.Valid(raw.Body) {
		var out bytes.Buffer
		if err := json.Indent(&out, raw.Body, "", "  "); err == nil {
			out.WriteByte('\n')
			if _, err := a.env.stdout.Write(out.Bytes()); err != nil {
				return fmt.Errorf("write JSON: %w", err)
			}
			return nil
		}
	}
	return writeJSON(a.env.stdout, v)
}

// printMade prints an object the command made, as 'uploads --help' says: with --json or on a terminal
// as printObject does; otherwise the ID alone on stdout, for a script to capture, and the summary on
// stderr.
func (a *app) printMade(raw *uploads.Response, v any, id string, summary []field) error {
	if a.json || a.env.stdoutIsTTY {
		return a.printObject(raw, v, summary)
	}
	if _, err := fmt.Fprintln(a.env.stdout, id); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return writeFields(a.env.stderr, summary)
}

// writeJSON writes v as indented JSON and a newline.
func writeJSON(w io.Writer, v any) error {
	encoder := json.NewEncoder(w)
	encoder.SetIndent("", "  ")
	if err := encoder.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// writeFields writes one "label  value" line per field, the values aligned.
func writeFields(w io.Writer, fields []field) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range fields {
		fmt.Fprintf(tw, "%s\t%s\n", f.label, f.value)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// uploadSummary describes an upload for people.
func uploadSummary(u *uploads.Upload) []field {
	fields := []field{
		{"upload", u.ID},
		{"status", string(u.Status)},
		{"filename", u.Filename},
		{"bytes", formatBytes(u.Bytes)},
		{"purpose", string(u.Purpose)},
		{"created", formatTime(u.CreatedAt)},
		{"expires", formatTime(u.ExpiresAt)},
	}
	if u.File != nil {
		fields = append(fields, field{"file", u.File.ID})
	}
	return fields
}

// fileSummary describes a File for people.
func fileSummary(f *uploads.File) []field {
	expires := "never"
	if f.ExpiresAt != nil {
		expires = formatTime(*f.ExpiresAt)
	}
	return []field{
		{"file", f.ID},
		{"filename", f.Filename},
		{"bytes", formatBytes(f.Bytes)},
		{"purpose", string(f.Purpose)},
		{"status", string(f.Status)},
		{"created", formatTime(f.CreatedAt)},
		{"expires", expires},
	}
}

// partSummary describes an added part for people.
func partSummary(p *uploads.UploadPart) []field {
	return []field{
		{"part", p.ID},
		{"upload", p.UploadID},
		{"created", formatTime(p.CreatedAt)},
	}
}

// formatTime writes Unix seconds as a UTC time.
func formatTime(unix int64) string {
	return time.Unix(unix, 0).UTC().Format(time.RFC3339)
}

// knownUpload is what is known of an upload whose state a lost answer left to be inferred: its ID
// and status, and no field that would have to be made up.
type knownUpload struct {
	ID     string               `json:"id"`
	Object string               `json:"object"`
	Status uploads.UploadStatus `json:"status"`
}

// printKnownUpload prints an upload of which only the ID and status are known, with no field that
// would have to be made up.
func (a *app) printKnownUpload(id string, status uploads.UploadStatus) error {
	return a.printObject(nil, knownUpload{ID: id, Object: "upload", Status: status}, []field{{"upload", id}, {"status", string(status)}})
}

// printCompletedWithoutFile prints an upload that completed although its File is not known (the
// answer to complete was lost and the File could not be told apart). With --json or on a terminal
// it prints what is known of the upload, as printKnownUpload does. Otherwise stdout stays empty:
// complete and put promise a script the File's ID there, and the upload's ID in its place would
// send the script on with the wrong object; the summary goes to stderr, and the exit code is 0
// because the upload did complete.
func (a *app) printCompletedWithoutFile(id string) error {
	if a.json || a.env.stdoutIsTTY {
		return a.printKnownUpload(id, uploads.UploadStatusCompleted)
	}
	return writeFields(a.env.stderr, []field{{"upload", id}, {"status", string(uploads.UploadStatusCompleted)}})
}
