package record

import (
	"errors"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/store"
)

func TestStatusAt(t *testing.T) {
	const expiresAt = 1000
	tests := []struct {
		name       string
		status     store.Status
		bytesState int16
		now        int64
		want       store.Status
	}{
		{"pending, live, before expiry", store.StatusPending, BytesLive, expiresAt - 1, store.StatusPending},
		{"pending, live, at expiry", store.StatusPending, BytesLive, expiresAt, store.StatusExpired},
		{"pending, releasing, before expiry", store.StatusPending, BytesReleasing, expiresAt - 1, store.StatusExpired},
		{"pending, released, before expiry", store.StatusPending, BytesReleased, 0, store.StatusExpired},
		{"cancelled, releasing", store.StatusCancelled, BytesReleasing, 0, store.StatusCancelled},
		{"completed, released, after expiry", store.StatusCompleted, BytesReleased, expiresAt + 1, store.StatusCompleted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := Upload{Upload: store.Upload{ID: "upload_1", Status: tc.status, ExpiresAt: expiresAt}, BytesState: tc.bytesState}
			if got := u.StatusAt(tc.now); got != tc.want {
				t.Errorf("StatusAt(%d) = %s, want %s", tc.now, got, tc.want)
			}
			err := u.StateError("cancel", tc.now)
			if tc.want == store.StatusPending {
				if err != nil {
					t.Errorf("StateError = %v, want nil", err)
				}
				return
			}
			var se *store.StateError
			if !errors.As(err, &se) || se.Status != tc.want || se.UploadID != "upload_1" || se.Op != "cancel" {
				t.Errorf("StateError = %#v, want a *store.StateError for upload_1 with status %s and op cancel", err, tc.want)
			}
		})
	}
}

func TestValidID(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"upload_0123abcDEF-x", true},
		{strings.Repeat("a", 128), true},
		{"", false},
		{strings.Repeat("a", 129), false},
		{"a/b", false},
		{"..", false},
		{"a.b", false},
		{"a b", false},
		{"é", false},
	}
	for _, tc := range tests {
		if got := ValidID(tc.id); got != tc.want {
			t.Errorf("ValidID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func TestCheckNew(t *testing.T) {
	tests := []struct {
		name    string
		u       store.Upload
		wantErr string // "" when u is accepted
	}{
		{"empty status taken as pending", store.Upload{ID: "upload_1"}, ""},
		{"pending", store.Upload{ID: "upload_1", Status: store.StatusPending}, ""},
		{"completed", store.Upload{ID: "upload_1", Status: store.StatusCompleted}, "must be pending"},
		{"with a file", store.Upload{ID: "upload_1", FileID: "file-1"}, "has no file"},
		{"bad id", store.Upload{ID: "../x"}, "the id may hold only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckNew(tc.u)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("CheckNew error = %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckNew: %v", err)
			}
			if got.Status != store.StatusPending || got.ID != tc.u.ID {
				t.Errorf("CheckNew = %+v, want the upload with status pending", got)
			}
		})
	}
}
