package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// migrations holds the schema, one file per version, named NNNN_what.sql. A version is applied
// once, in one transaction with the PRAGMA user_version that records it.
//
//go:embed migrations/*.sql
var migrations embed.FS

// migrate brings the schema of db up to the newest embedded version.
func migrate(ctx context.Context, db *sql.DB) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for i, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		prefix, _, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(prefix)
		if err != nil || version != i+1 {
			return fmt.Errorf("migration %s: want a name starting with %04d_", base, i+1)
		}
		if err := applyMigration(ctx, db, version, name); err != nil {
			return err
		}
	}
	var current int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current > len(names) {
		return fmt.Errorf("the database has schema version %d, newer than this program knows (%d)", current, len(names))
	}
	return nil
}

// applyMigration applies one version unless the database already has it.
func applyMigration(ctx context.Context, db *sql.DB, version int, name string) error {
	text, err := migrations.ReadFile(name)
	if err != nil {
		return fmt.Errorf("read migration %s: %w", name, err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("apply migration %s: %w", name, err)
	}
	defer tx.Rollback()
	var current int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current >= version {
		return nil
	}
	if _, err := tx.ExecContext(ctx, string(text)); err != nil {
		return fmt.Errorf("apply migration %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		return fmt.Errorf("apply migration %s: record version: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("apply migration %s: %w", name, err)
	}
	return nil
}
