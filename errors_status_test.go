package uploads

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

// TestStatusPredicatesAcceptOnlyTheirStatus checks each predicate against every status an API
// answer may carry: a predicate true for a neighbour of its status (410 for IsNotFound, 403 for
// IsUnauthorized) would send callers down the wrong branch.
func TestStatusPredicatesAcceptOnlyTheirStatus(t *testing.T) {
	predicates := []struct {
		name   string
		is     func(error) bool
		status int
	}{
		{"IsNotFound", IsNotFound, http.StatusNotFound},
		{"IsUnauthorized", IsUnauthorized, http.StatusUnauthorized},
		{"IsRateLimited", IsRateLimited, http.StatusTooManyRequests},
	}
	statuses := []int{100, 200, 204, 301, 400, 401, 402, 403, 404, 405, 408, 409, 410, 413, 422, 428, 429, 431, 500, 502, 503, 504}
	for _, p := range predicates {
		for _, status := range statuses {
			want := status == p.status
			apiErr := &APIError{StatusCode: status}
			for _, err := range []error{apiErr, fmt.Errorf("cancel upload: %w", apiErr), &UploadError{Err: apiErr}} {
				if got := p.is(err); got != want {
					t.Errorf("%s(%v) = %v, want %v", p.name, err, got, want)
				}
			}
		}
		for _, err := range []error{nil, errors.New("404 not found"), &InvalidParamError{Operation: "cancel upload", Param: "upload ID", Reason: "empty"}} {
			if p.is(err) {
				t.Errorf("%s(%v) = true for an error that is no APIError", p.name, err)
			}
		}
		// A cancel that failed with the status does not make the upload's own failure that status.
		if p.is(&UploadError{Err: errors.New("disk on fire"), CancelErr: &APIError{StatusCode: p.status}}) {
			t.Errorf("%s is true for an UploadError whose cancel, not whose cause, has status %d", p.name, p.status)
		}
	}
}
