package sqlitestore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReleasingUploadsReadTheIndex: the remover lists the uploads being released after every
// cancel; the listing reads the partial index of those uploads, not the whole table.
func TestReleasingUploadsReadTheIndex(t *testing.T) {
	s := openTemp(t, t.TempDir())
	rows, err := s.read.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+releasingSQL)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(plan, "; "); !strings.Contains(got, "INDEX uploads_releasing") {
		t.Errorf("query plan of the releasing uploads: %q, want it to use the index uploads_releasing", got)
	}
}

// TestRemoveDirs: removeDirs removes every directory it is given, several at once, and reports
// the bytes freed and the error of each in the order given: a directory already gone frees
// nothing and is no error, a path that is not a directory is an error, and neither keeps the
// others from being removed.
func TestRemoveDirs(t *testing.T) {
	root := t.TempDir()
	var dirs []string
	want := make([]int64, 3*removeWorkers)
	for i := range want {
		dir := filepath.Join(root, "upload_"+strings.Repeat("x", i+1))
		dirs = append(dirs, dir)
		switch i % 3 {
		case 0: // two files, of i+1 and 2 bytes
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, size := range map[string]int{"part_a": i + 1, "part_b": 2} {
				if err := os.WriteFile(filepath.Join(dir, name), make([]byte, size), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want[i] = int64(i + 3)
		case 1: // already gone
		case 2: // not a directory
			if err := os.WriteFile(dir, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	freed, errs := removeDirs(dirs)
	for i, dir := range dirs {
		if freed[i] != want[i] {
			t.Errorf("%s: freed %d bytes, want %d", filepath.Base(dir), freed[i], want[i])
		}
		if wantErr := i%3 == 2; (errs[i] != nil) != wantErr {
			t.Errorf("%s: error %v, want an error: %v", filepath.Base(dir), errs[i], wantErr)
		}
		if i%3 != 2 && exists(t, dir) {
			t.Errorf("%s is still there", filepath.Base(dir))
		}
	}
	if freed, errs := removeDirs(nil); len(freed) != 0 || len(errs) != 0 {
		t.Errorf("removeDirs(nil) = %v, %v; want nothing", freed, errs)
	}
}
