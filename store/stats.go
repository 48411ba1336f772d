package store

import "context"

// Stats is what a store holds at one moment, for metrics.
type Stats struct {
	// Uploads counts uploads by the status they have at the time asked (StatusExpired for those
	// pending past their ExpiresAt).
	Uploads map[Status]int64
	// PendingPartBytes is the size of the parts of pending, unexpired uploads.
	PendingPartBytes int64
	// Files and FileBytes count the Files that have not expired, and their size.
	Files, FileBytes int64
}

// StatsReporter is implemented by stores that can count what they hold. It is separate from Store
// so that a store without it still serves the API; the server's /metrics then leaves the store's
// gauges out.
type StatsReporter interface {
	// Stats counts, across every owner, at Unix time now. It reads only, with a few aggregate
	// queries whatever the number of uploads.
	Stats(ctx context.Context, now int64) (Stats, error)
}
