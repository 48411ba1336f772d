package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/uploadkit/uploads"
)

// journalPath is where put --resume keeps the journal of the upload of path: in the user's cache
// directory, under a name derived from the absolute path, so that one file has one journal
// wherever the command runs from.
func journalPath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("--resume: %w", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("--resume: no cache directory for the journal: %w", err)
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(cache, "uploads", "resume", hex.EncodeToString(sum[:16])+".journal"), nil
}

// noteWriter is where a line can be written while view shows progress: above a live bar, or
// stderr.
func noteWriter(view progressView, stderr io.Writer) io.Writer {
	if v, ok := view.(*putView); ok && v.line != nil {
		return aboveWriter{v.line}
	}
	return stderr
}

// reportJournal says whether put resumes an upload, or why it starts a new one.
func reportJournal(w io.Writer, ev uploads.JournalEvent) {
	if ev.Resumed {
		fmt.Fprintf(w, "resuming %s: %d of %d parts already sent\n", ev.UploadID, ev.PartsSent, ev.Parts)
		return
	}
	fmt.Fprintf(w, "starting a new upload: %s\n", ev.Reason)
}
