package uploads

import (
	"mime"
	"path/filepath"
	"strings"
)

// knownTypes are the MIME types the API expects for common file kinds. They come first so that the
// guess does not depend on the machine's mime.types (which, for one, rarely knows ".jsonl").
var knownTypes = map[string]string{
	".jsonl": "text/jsonl",
	".json":  "application/json",
	".txt":   "text/plain",
	".md":    "text/markdown",
	".csv":   "text/csv",
	".html":  "text/html",
	".pdf":   "application/pdf",
	".docx":  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".pptx":  "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".png":   "image/png",
	".jpg":   "image/jpeg",
	".jpeg":  "image/jpeg",
	".gif":   "image/gif",
	".webp":  "image/webp",
}

// GuessMIMEType returns the MIME type for a file name, from its extension: a type the API knows for
// common kinds, else the system's, else "application/octet-stream". Parameters such as charset are
// dropped, since the API expects a bare type.
func GuessMIMEType(filename string) string {
	ext := strings.ToLower(filepath.Ext(filename))
	if t, ok := knownTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		if bare, _, err := mime.ParseMediaType(t); err == nil {
			return bare
		}
	}
	return "application/octet-stream"
}

// GuessMIMETypeFor is GuessMIMEType for a file uploaded with purpose: the purposes that take JSON
// Lines only (fine-tune and batch) get "text/jsonl" whatever the extension says, since the API
// refuses any other type for them and a file sent for them is JSON Lines by definition. Other
// purposes get GuessMIMEType's guess.
func GuessMIMETypeFor(filename string, purpose Purpose) string {
	switch purpose {
	case PurposeFineTune, PurposeBatch:
		return "text/jsonl"
	}
	return GuessMIMEType(filename)
}
