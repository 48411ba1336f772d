package sqlitestore

import (
	"context"
	"testing"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/storetest"
)

// openTemp opens the store in dir, closed when t ends.
func openTemp(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t, t.TempDir()) })
}
