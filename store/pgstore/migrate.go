package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations holds the schema, one file per version, named NNNN_what.sql.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockKey is the advisory lock that serialises migrations: replicas starting together
// take turns, and the second finds the schema already current.
const migrationLockKey int64 = 0x75706c6f61647301 // "uploads" and 1

// migrate brings the schema up to the newest embedded version, all in one transaction under the
// advisory lock: either every pending version is applied or none is.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	names, err := migrationNames()
	if err != nil {
		return err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate schema: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
		return fmt.Errorf("migrate schema: take the migration lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS uploads_schema_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate schema: create uploads_schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM uploads_schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate schema: read the schema version: %w", err)
	}
	if current > len(names) {
		return fmt.Errorf("migrate schema: the database has schema version %d, newer than this program knows (%d)", current, len(names))
	}
	for i := current; i < len(names); i++ {
		if err := applyMigration(ctx, tx, i+1, names[i]); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate schema: %w", err)
	}
	return nil
}

// migrationNames lists the embedded migrations in version order, checking that versions run
// 1, 2, 3… without gaps.
func migrationNames() ([]string, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for i, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		prefix, _, _ := strings.Cut(base, "_")
		if v, err := strconv.Atoi(prefix); err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want a name starting with %04d_", base, i+1)
		}
	}
	return names, nil
}

// applyMigration runs one version's SQL in tx and records it.
func applyMigration(ctx context.Context, tx pgx.Tx, version int, name string) error {
	text, err := migrations.ReadFile(name)
	if err != nil {
		return fmt.Errorf("read migration %s: %w", name, err)
	}
	if _, err := tx.Exec(ctx, string(text)); err != nil {
		return fmt.Errorf("apply migration %s: %w", name, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO uploads_schema_migrations (version, name) VALUES ($1, $2)`,
		version, strings.TrimPrefix(name, "migrations/")); err != nil {
		return fmt.Errorf("apply migration %s: record version: %w", name, err)
	}
	return nil
}
