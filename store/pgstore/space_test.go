package pgstore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/minio/minio-go/v7"

	"github.com/uploadkit/uploads/store"
)

// A full disk under PostgreSQL or under the bucket is store.ErrNoSpace; other failures are not.
func TestNoSpace(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("record part: %w", &pgconn.PgError{Code: "53100", Message: "could not extend file"}), true},
		{fmt.Errorf("put part: %w", minio.ErrorResponse{StatusCode: 507, Code: "XMinioStorageFull"}), true},
		{fmt.Errorf("put part: %w", minio.ErrorResponse{StatusCode: 507}), true},
		{fmt.Errorf("record part: %w", &pgconn.PgError{Code: "23505"}), false},
		{fmt.Errorf("put part: %w", minio.ErrorResponse{StatusCode: 500, Code: "InternalError"}), false},
		{errors.New("connection refused"), false},
	} {
		if got := errors.Is(noSpace(tc.err), store.ErrNoSpace); got != tc.want {
			t.Errorf("noSpace(%v) is ErrNoSpace: %v, want %v", tc.err, got, tc.want)
		}
	}
	if noSpace(nil) != nil {
		t.Errorf("noSpace(nil) is not nil")
	}
}
