package pgstore

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/minio/minio-go/v7"

	"github.com/uploadkit/uploads/store"
)

// pgDiskFull is PostgreSQL's SQLSTATE disk_full.
const pgDiskFull = "53100"

// noSpace makes an error that says the database's disk or the bucket is full wrap
// store.ErrNoSpace, so the server answers it with a 507 that clients retry, and returns any other
// as it is.
func noSpace(err error) error {
	if err == nil || errors.Is(err, store.ErrNoSpace) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == pgDiskFull {
		return fmt.Errorf("%w: %w", store.ErrNoSpace, err)
	}
	var s3Err minio.ErrorResponse
	if errors.As(err, &s3Err) && (s3Err.StatusCode == http.StatusInsufficientStorage || s3Err.Code == "XMinioStorageFull") {
		return fmt.Errorf("%w: %w", store.ErrNoSpace, err)
	}
	return err
}
