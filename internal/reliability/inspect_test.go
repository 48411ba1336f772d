package reliability

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the driver the store itself uses, to read its database from outside
)

// inspector reads a store's directory from outside the store, read-only: its database rows and
// its part files. Tests use it to see exactly what a request left behind.
type inspector struct {
	dir string
	db  *sql.DB
}

// openInspector opens dir's database read-only. The store may be open meanwhile (WAL lets readers
// in while it writes).
func openInspector(t testing.TB, dir string) *inspector {
	t.Helper()
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", filepath.Join(dir, "uploads.db")+"?"+q.Encode())
	if err != nil {
		t.Fatalf("open database of %s: %v", dir, err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return &inspector{dir: dir, db: db}
}

// snapshot is the whole content of a store: every row of every table, and every file under parts/
// with its size and SHA-256, each as one sorted line.
type snapshot []string

func (in *inspector) snapshot(t testing.TB) snapshot {
	t.Helper()
	var out snapshot
	for _, table := range []string{"uploads", "parts", "files", "file_parts"} {
		rows, err := in.db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("snapshot %s: %v", table, err)
			}
			out = append(out, fmt.Sprintf("%s %q", table, vals))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
		rows.Close()
	}
	for path, sum := range in.partFiles(t) {
		out = append(out, "file "+path+" "+sum)
	}
	slices.Sort(out)
	return out
}

// partFiles maps every file under parts/ (relative path) to its size and SHA-256.
func (in *inspector) partFiles(t testing.TB) map[string]string {
	t.Helper()
	files := map[string]string{}
	root := filepath.Join(in.dir, "parts")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile by the store's background remover
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		sum := sha256.Sum256(b)
		files[rel] = fmt.Sprintf("%d:%s", len(b), hex.EncodeToString(sum[:8]))
		return nil
	})
	if err != nil {
		t.Fatalf("list part files: %v", err)
	}
	return files
}

// diff describes how two snapshots differ, or "" when they are equal.
func (s snapshot) diff(after snapshot) string {
	var b strings.Builder
	for _, l := range s {
		if !slices.Contains(after, l) {
			fmt.Fprintf(&b, "\n- %s", l)
		}
	}
	for _, l := range after {
		if !slices.Contains(s, l) {
			fmt.Fprintf(&b, "\n+ %s", l)
		}
	}
	return b.String()
}

// invariantQueries each return the rows that break a rule the store must keep at all times.
var invariantQueries = []struct{ rule, query string }{
	{"a completed upload has a file id and exactly one file",
		`SELECT id FROM uploads u WHERE status = 'completed' AND (file_id IS NULL OR
		 (SELECT COUNT(*) FROM files f WHERE f.upload_id = u.id AND f.id = u.file_id) != 1)`},
	{"an upload that is not completed has no file (never both cancelled and completed)",
		`SELECT id FROM uploads u WHERE status != 'completed' AND (file_id IS NOT NULL OR
		 EXISTS (SELECT 1 FROM files f WHERE f.upload_id = u.id))`},
	{"a cancelled upload keeps no part",
		`SELECT DISTINCT u.id FROM uploads u JOIN parts p ON p.upload_id = u.id WHERE u.status = 'cancelled'`},
	{"a file is as large as its upload and, until it is deleted, as its parts",
		`SELECT f.id FROM files f JOIN uploads u ON u.id = f.upload_id WHERE f.bytes != u.bytes OR (f.deleted_at IS NULL AND f.bytes !=
		 (SELECT COALESCE(SUM(p.size), -1) FROM file_parts fp JOIN parts p ON p.id = fp.part_id WHERE fp.file_id = f.id))`},
	{"a deleted (or expired and swept) file keeps no part",
		`SELECT f.id FROM files f WHERE f.deleted_at IS NOT NULL AND (EXISTS (SELECT 1 FROM file_parts fp WHERE fp.file_id = f.id)
		 OR EXISTS (SELECT 1 FROM parts p WHERE p.upload_id = f.upload_id))`},
	{"a file's parts belong to its upload",
		`SELECT fp.part_id FROM file_parts fp JOIN files f ON f.id = fp.file_id JOIN parts p ON p.id = fp.part_id
		 WHERE p.upload_id != f.upload_id`},
	{"a completed upload keeps only the parts its file lists",
		`SELECT p.id FROM parts p JOIN uploads u ON u.id = p.upload_id WHERE u.status = 'completed'
		 AND p.id NOT IN (SELECT part_id FROM file_parts WHERE file_id = u.file_id)`},
	{"a part listed for removal (left out by a completion) has no part row",
		`SELECT r.part_id FROM parts_to_remove r JOIN parts p ON p.id = r.part_id`},
	{"parts of a file are numbered 0, 1, 2, … without a gap",
		`SELECT file_id FROM file_parts GROUP BY file_id HAVING MAX(seq) + 1 != COUNT(*) OR MIN(seq) != 0`},
}

// checkInvariants fails the test for every broken rule of the store: the rules above, and on disk:
// every recorded part's file is there with the recorded size, and, when quiet (no request in
// flight), no temporary or unrecorded file lies under parts/ except for uploads being released
// and parts a completion left out (listed for removal), and no empty directory of an upload that
// takes no parts.
func (in *inspector) checkInvariants(t testing.TB, quiet bool) {
	t.Helper()
	for _, inv := range invariantQueries {
		ids := in.strings(t, inv.query)
		if len(ids) > 0 {
			t.Errorf("store invariant broken: %s: %v", inv.rule, ids)
		}
	}
	recorded := map[string]int64{}
	rows, err := in.db.Query(`SELECT upload_id, id, size FROM parts`)
	if err != nil {
		t.Fatalf("list parts: %v", err)
	}
	for rows.Next() {
		var uploadID, partID string
		var size int64
		if err := rows.Scan(&uploadID, &partID, &size); err != nil {
			t.Fatalf("list parts: %v", err)
		}
		recorded[filepath.Join(uploadID, partID)] = size
	}
	rows.Close()
	for rel, size := range recorded {
		info, err := os.Stat(filepath.Join(in.dir, "parts", rel))
		switch {
		case err != nil:
			t.Errorf("store invariant broken: recorded part %s (%d bytes) is not readable: %v", rel, size, err)
		case info.Size() != size:
			t.Errorf("store invariant broken: recorded part %s has %d bytes on disk, %d recorded", rel, info.Size(), size)
		}
	}
	if !quiet {
		return
	}
	releasing := in.strings(t, `SELECT id FROM uploads WHERE bytes_state = 1`)
	// Parts a completion left out: listed for the background remover, their files may remain.
	leftOut := in.strings(t, `SELECT upload_id || '/' || part_id FROM parts_to_remove`)
	for _, rel := range in.partNames(t) {
		if _, ok := recorded[rel]; ok || slices.Contains(leftOut, filepath.ToSlash(rel)) {
			continue
		}
		if slices.Contains(releasing, strings.SplitN(rel, string(filepath.Separator), 2)[0]) {
			continue
		}
		t.Errorf("store invariant broken: %s lies under parts/ but no part records it", rel)
	}
	// An upload that can take no more parts keeps no empty directory: one a part made anew after
	// a cancel or a sweep removed it.
	dirs, err := os.ReadDir(filepath.Join(in.dir, "parts"))
	if err != nil {
		t.Fatalf("list part directories: %v", err)
	}
	open := in.strings(t, `SELECT id FROM uploads WHERE status = 'pending' AND bytes_state = 0`)
	for _, d := range dirs {
		if !d.IsDir() || slices.Contains(open, d.Name()) || slices.Contains(releasing, d.Name()) {
			continue
		}
		if entries, err := os.ReadDir(filepath.Join(in.dir, "parts", d.Name())); err == nil && len(entries) == 0 {
			t.Errorf("store invariant broken: parts/%s is an empty directory of an upload that takes no parts", d.Name())
		}
	}
}

// partNames lists the files under parts/ (relative paths), without reading them.
func (in *inspector) partNames(t testing.TB) []string {
	t.Helper()
	var names []string
	root := filepath.Join(in.dir, "parts")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile by the store's background remover
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list part files: %v", err)
	}
	return names
}

// strings runs a query returning one text column.
func (in *inspector) strings(t testing.TB, query string, args ...any) []string {
	t.Helper()
	rows, err := in.db.Query(query, args...)
	if err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatalf("query %q: %v", query, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	return out
}
