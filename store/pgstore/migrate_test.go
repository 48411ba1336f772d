package pgstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/uploadkit/uploads/store/pgstore"
	"github.com/uploadkit/uploads/store/pgstore/pgstoretest"
)

// TestReplicasStartingTogetherMigrateOnce: stores opened at the same moment on an empty schema
// all succeed, and each migration is applied exactly once.
func TestReplicasStartingTogetherMigrateOnce(t *testing.T) {
	cfg := pgstoretest.Config(t)
	const replicas = 4
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() {
			s, err := pgstore.Open(context.Background(), cfg)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: Open: %v", i, err)
		}
	}
	if n := pgstoretest.QueryInt(t, cfg, `SELECT COUNT(*) FROM uploads_schema_migrations`); n != 2 {
		t.Errorf("uploads_schema_migrations has %d rows, want 2 (one per migration)", n)
	}
	for version, name := range map[int]string{1: "0001_init.sql", 2: "0002_file_lifecycle.sql"} {
		if n := pgstoretest.QueryInt(t, cfg, fmt.Sprintf(`SELECT COUNT(*) FROM uploads_schema_migrations WHERE version = %d AND name = '%s'`, version, name)); n != 1 {
			t.Errorf("migration %s recorded %d times, want 1", name, n)
		}
	}
}

// TestOpenRefusesNewerSchema: a database migrated by a newer program is not touched by an older
// one.
func TestOpenRefusesNewerSchema(t *testing.T) {
	cfg := pgstoretest.Config(t)
	pgstoretest.OpenWith(t, cfg)
	pgstoretest.Exec(t, cfg, `INSERT INTO uploads_schema_migrations (version, name) VALUES (1000, '1000_future.sql')`)
	s, err := pgstore.Open(context.Background(), cfg)
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded on a schema newer than the program")
	}
	if !strings.Contains(err.Error(), "newer than this program knows") {
		t.Errorf("Open: %v; want it to say the schema is newer", err)
	}
}
