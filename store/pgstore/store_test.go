package pgstore_test

import (
	"testing"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/pgstore/pgstoretest"
	"github.com/uploadkit/uploads/store/storetest"
)

// TestStore runs the behavioural suite every store passes.
func TestStore(t *testing.T) {
	pgstoretest.Require(t)
	storetest.Run(t, func(t *testing.T) store.Store { return pgstoretest.Open(t) })
}
