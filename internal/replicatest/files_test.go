package replicatest_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/uploadkit/uploads/internal/filesuite"
	"github.com/uploadkit/uploads/server"
	"github.com/uploadkit/uploads/store/pgstore/pgstoretest"
)

// The official SDK's Files suite (list, filter, orders, paging, delete, the 404 of a deleted File)
// passes on the PostgreSQL and S3 store too, with two keys.
func TestOfficialSDKFilesOnPostgres(t *testing.T) {
	const keyA, keyB = "sk-files-a", "sk-files-b"
	st := pgstoretest.OpenWith(t, storeConfig(t))
	srv, err := server.New(server.Config{
		Store:         st,
		APIKeys:       []string{keyA, keyB},
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		SweepInterval: -1,
	})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	filesuite.Run(t, hs.URL+"/v1", keyA, keyB)
}
