// Package limits holds the limits of the Uploads API that code needs as numbers: the client to
// check its arguments before sending them, the server to enforce them. Each is defined here once;
// limits_test.go reads openapi/uploads.yaml and fails when the spec says otherwise, so the spec
// stays the source of truth and this package its one translation into Go.
package limits

const (
	// MaxPartBytes is the largest part: 64 MiB.
	MaxPartBytes int64 = 64 << 20
	// MaxUploadBytes is the largest upload, the sum of its parts: 8 GiB.
	MaxUploadBytes int64 = 8 << 30
	// UploadLifetimeSeconds is how long an upload stays pending: expires_at = created_at + 3600.
	UploadLifetimeSeconds int64 = 3600
	// MinFileExpiresAfterSeconds and MaxFileExpiresAfterSeconds bound expires_after.seconds: from
	// one hour to thirty days.
	MinFileExpiresAfterSeconds int64 = 3600
	MaxFileExpiresAfterSeconds int64 = 2592000
	// BatchFileExpiresAfterSeconds is how long a File of purpose batch lives when its upload gave
	// no expires_after: 30 days.
	BatchFileExpiresAfterSeconds int64 = 30 * 24 * 3600
	// MaxListFilesLimit is the most Files one page of listFiles holds, and its default page size.
	MaxListFilesLimit int64 = 10000
)

// Purposes lists the purposes createUpload accepts, in the order the live service names them in
// the message of a 400 for an unknown purpose. Each call returns a new slice.
func Purposes() []string {
	return []string{"fine-tune", "assistants", "batch", "user_data", "vision", "evals"}
}
