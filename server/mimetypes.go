package server

import (
	"mime"
	"strings"
)

// MIME types by purpose. The live service requires a mime_type "supported for the purpose" and
// does not publish the exact strings it takes; these lists follow what its documentation says
// each purpose is for (see "MIME types" in README.md):
//
//   - fine-tune and batch take JSONL (the training file, the batch input file);
//   - vision takes PNG, JPEG, WEBP and non-animated GIF images;
//   - assistants, user_data and evals have no list here: assistants files feed file search and
//     code interpreter, which between them take nearly any type, user_data is documented as a
//     flexible type for any purpose, and evals is not in the documented lists.
//
// Where a format has several spellings in use, all of them are accepted.
var (
	jsonlTypes = []string{
		"text/jsonl", "application/jsonl", "application/x-jsonl", "application/jsonlines",
		"application/x-jsonlines", "application/x-ndjson", "application/ndjson", "application/json",
	}
	imageTypes = []string{"image/png", "image/jpeg", "image/jpg", "image/webp", "image/gif"}

	mimeTypesByPurpose = map[string][]string{
		"fine-tune": jsonlTypes,
		"batch":     jsonlTypes,
		"vision":    imageTypes,
	}
)

// checkMIMEType refuses a mime_type that is not a MIME type (type/subtype, optional parameters,
// as RFC 2045 spells them), and one that purpose does not take.
func checkMIMEType(purpose, mimeType string) *apiError {
	media, _, err := mime.ParseMediaType(mimeType)
	typ, sub, ok := strings.Cut(media, "/")
	if err != nil || !ok || typ == "" || sub == "" || strings.TrimSpace(mimeType) != mimeType {
		return badRequest("mime_type", codeInvalidValue,
			"Invalid 'mime_type': %q is not a MIME type. Expected a type and a subtype such as 'text/jsonl'.", mimeType)
	}
	allowed, listed := mimeTypesByPurpose[purpose]
	if !listed {
		return nil
	}
	for _, a := range allowed {
		if media == a {
			return nil
		}
	}
	return badRequest("mime_type", codeUnsupportedMIMEType,
		"Invalid 'mime_type': unsupported MIME type '%s' for purpose '%s'. Supported types are %s.",
		media, purpose, pyList(allowed))
}
