package uploads

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fileJSON is a File as the API sends it.
func fileJSON(id string, createdAt int64) map[string]any {
	return map[string]any{"object": "file", "id": id, "purpose": "batch", "filename": id + ".jsonl",
		"bytes": 3, "created_at": createdAt, "expires_at": nil, "status": "processed", "status_details": nil}
}

// pagedFiles answers listFiles over ids, in that order, honouring limit and after.
func pagedFiles(t *testing.T, ids []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1/files" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		limit := len(ids)
		if l := q.Get("limit"); l != "" {
			limit, _ = strconv.Atoi(l)
		}
		start := 0
		if after := q.Get("after"); after != "" {
			start = slices.Index(ids, after) + 1
		}
		end := min(start+limit, len(ids))
		page := map[string]any{"object": "list", "data": []any{}, "has_more": end < len(ids), "first_id": nil, "last_id": nil}
		var data []any
		for i, id := range ids[start:end] {
			data = append(data, fileJSON(id, int64(1000+i)))
		}
		if len(data) > 0 {
			page["data"], page["first_id"], page["last_id"] = data, ids[start], ids[end-1]
		}
		b, _ := json.Marshal(page)
		writeJSON(w, http.StatusOK, b)
	}
}

func collect(t *testing.T, seq func(func(File, error) bool)) ([]string, error) {
	t.Helper()
	var ids []string
	for f, err := range seq {
		if err != nil {
			return ids, err
		}
		ids = append(ids, f.ID)
	}
	return ids, nil
}

func TestListFilesFollowsPages(t *testing.T) {
	want := []string{"file-a", "file-b", "file-c", "file-d", "file-e"}
	var queries []url.Values // the handler runs one request at a time: the iterator waits for each page
	pages := pagedFiles(t, want)
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.Query())
		pages(w, r)
	})
	c, _ := newTestClient(t, f, nil)
	got, err := collect(t, c.ListFiles(t.Context(), ListFilesParams{Purpose: FilePurposeBatch, Limit: 2, Order: ListOrderAsc}))
	if err != nil {
		t.Fatalf("ListFiles: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ListFiles yielded %v, want %v", got, want)
	}
	if len(queries) != 3 {
		t.Fatalf("%d requests, want 3 pages of at most 2: %v", len(queries), queries)
	}
	for i, wantAfter := range []string{"", "file-b", "file-d"} {
		q := queries[i]
		if q.Get("after") != wantAfter || q.Get("limit") != "2" || q.Get("order") != "asc" || q.Get("purpose") != "batch" {
			t.Errorf("request %d asked for %v, want after=%q limit=2 order=asc purpose=batch", i, q, wantAfter)
		}
	}
}

func TestListFilesDefaultsSendNoParams(t *testing.T) {
	var rawQueries []string
	pages := pagedFiles(t, []string{"file-a"})
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		rawQueries = append(rawQueries, r.URL.RawQuery)
		pages(w, r)
	})
	c, _ := newTestClient(t, f, nil)
	if _, err := collect(t, c.ListFiles(t.Context(), ListFilesParams{})); err != nil {
		t.Fatalf("ListFiles: %v", err)
	}
	if len(rawQueries) != 1 || rawQueries[0] != "" {
		t.Errorf("queries %q, want one request without a query", rawQueries)
	}
}

func TestListFilesStopsWhenTheLoopDoes(t *testing.T) {
	f := newFakeAPI(t, pagedFiles(t, []string{"file-a", "file-b", "file-c", "file-d"}))
	c, _ := newTestClient(t, f, nil)
	for range c.ListFiles(t.Context(), ListFilesParams{Limit: 1}) {
		break
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("breaking after the first File sent %d requests, want 1", n)
	}
}

// The recorded page of 1,120 Files decodes whole, in one request.
func TestListFilesRecordedPage(t *testing.T) {
	body := readRecorded(t, "files-list-200.json")
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, body) })
	c, _ := newTestClient(t, f, nil)
	var n int
	for file, err := range c.ListFiles(t.Context(), ListFilesParams{Purpose: FilePurposeAssistants}) {
		if err != nil {
			t.Fatalf("ListFiles: %v", err)
		}
		if file.ID == "" || file.Purpose != FilePurposeAssistants {
			t.Fatalf("File %d: %+v", n, file)
		}
		n++
	}
	if n != 1120 || len(f.requests()) != 1 {
		t.Errorf("ListFiles yielded %d Files in %d requests, want 1120 in 1", n, len(f.requests()))
	}
}

func TestListFilesErrors(t *testing.T) {
	page := func(hasMore bool, lastID any, ids ...string) []byte {
		data := []any{}
		for _, id := range ids {
			data = append(data, fileJSON(id, 1000))
		}
		var first any
		if len(ids) > 0 {
			first = ids[0]
		}
		b, _ := json.Marshal(map[string]any{"object": "list", "data": data, "has_more": hasMore, "first_id": first, "last_id": lastID})
		return b
	}
	tests := []struct {
		name    string
		pages   [][]byte // answered in turn; past the end, a 404
		status  int      // of the last answer, when not 200
		wantIDs []string
		check   func(t *testing.T, err error)
	}{
		{"second page fails", [][]byte{page(true, "file-a", "file-a"), []byte(`{"error":{"message":"No such File object: file-a","type":"invalid_request_error","param":"id","code":null}}`)},
			http.StatusNotFound, []string{"file-a"}, func(t *testing.T, err error) {
				if !IsNotFound(err) {
					t.Errorf("error = %v, want a 404 APIError", err)
				}
			}},
		{"more follow but nothing names them", [][]byte{page(true, nil)}, 0, nil, wantErrorText("neither names a last File")},
		{"a page that does not move on", [][]byte{page(true, "file-a", "file-a"), page(true, "file-a", "file-a")}, 0,
			[]string{"file-a", "file-a"}, wantErrorText("ends where it started")},
		{"not a list", [][]byte{[]byte(`{"object":"list"}`)}, 0, nil, wantErrorText("not an object")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls int
			f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				i := calls
				calls++
				status := http.StatusOK
				if i == len(tc.pages)-1 && tc.status != 0 {
					status = tc.status
				}
				writeJSON(w, status, tc.pages[min(i, len(tc.pages)-1)])
			})
			c, _ := newTestClient(t, f, func(error) {}) // some answers break the spec on purpose
			var ids []string
			var errs []error
			for file, err := range c.ListFiles(t.Context(), ListFilesParams{}) {
				if err != nil {
					errs = append(errs, err)
					continue
				}
				ids = append(ids, file.ID)
			}
			if len(errs) != 1 {
				t.Fatalf("ListFiles yielded %d errors, want 1: %v", len(errs), errs)
			}
			if !slices.Equal(ids, tc.wantIDs) {
				t.Errorf("ListFiles yielded %v before the error, want %v", ids, tc.wantIDs)
			}
			tc.check(t, errs[0])
		})
	}
}

func wantErrorText(text string) func(t *testing.T, err error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), text) {
			t.Errorf("error = %v, want one saying %q", err, text)
		}
	}
}

func TestListFilesBadParamsSendNothing(t *testing.T) {
	f := newFakeAPI(t, pagedFiles(t, nil))
	c, _ := newTestClient(t, f, nil)
	for _, p := range []ListFilesParams{{Limit: -1}, {Limit: MaxListLimit + 1}, {Order: "sideways"}, {After: ".."}, {After: " "}} {
		_, err := collect(t, c.ListFiles(t.Context(), p))
		var ipe *InvalidParamError
		if !errors.As(err, &ipe) {
			t.Errorf("ListFiles(%+v): error = %v, want an *InvalidParamError", p, err)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("refused params sent %d requests", n)
	}
}

func TestDeleteFile(t *testing.T) {
	deleted := readRecorded(t, "files-delete-200.json")
	missing := readRecorded(t, "files-delete-404.json")
	f := newFakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodDelete && r.URL.Path == "/v1/files/file-YFJPwr3tabnv2ScEevmcUc":
			writeJSON(w, http.StatusOK, deleted)
		case r.Method == http.MethodDelete:
			writeJSON(w, http.StatusNotFound, missing)
		default:
			http.NotFound(w, r)
		}
	})
	c, _ := newTestClient(t, f, nil)
	d, err := c.DeleteFile(t.Context(), "file-YFJPwr3tabnv2ScEevmcUc")
	if err != nil {
		t.Fatalf("DeleteFile: %v", err)
	}
	if d.ID != "file-YFJPwr3tabnv2ScEevmcUc" || !d.Deleted || d.Object != "file" {
		t.Errorf("DeleteFile = %+v", d)
	}
	_, err = c.DeleteFile(t.Context(), "fake_id")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !IsNotFound(err) || apiErr.Param != "id" || apiErr.Message != "No such File object: fake_id" {
		t.Errorf("DeleteFile of a missing File: %v, want the 404 with param id", err)
	}
	if _, err := c.DeleteFile(t.Context(), ""); !errors.As(err, new(*InvalidParamError)) {
		t.Errorf("DeleteFile(\"\"): %v, want an *InvalidParamError", err)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2 (none for the empty ID)", n)
	}
}

// readRecorded reads a body the live service sent, from testdata/recorded.
func readRecorded(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "recorded", name))
	if err != nil {
		t.Fatal(fmt.Errorf("read recording: %w", err))
	}
	return b
}
