// Package filesuite checks, with the official Go SDK, that a server speaks the Files lifecycle as
// the live service does: list with filter, order and paging, delete, and the 404 of a File that
// is gone. The reference server's tests run it on each of its stores.
package filesuite

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// Run runs the suite against the API at baseURL (ending in /v1) with two keys that see nothing
// of each other, on a server that has no Files of either key yet.
func Run(t *testing.T, baseURL, keyA, keyB string) {
	ctx := context.Background()
	client := func(key string) openai.Client {
		return openai.NewClient(option.WithBaseURL(strings.TrimSuffix(baseURL, "/")+"/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	}
	a, b := client(keyA), client(keyB)

	var files []openai.FileObject
	for i, purpose := range []openai.FilePurpose{openai.FilePurposeBatch, openai.FilePurposeFineTune, openai.FilePurposeBatch, openai.FilePurposeBatch} {
		files = append(files, upload(t, a, purpose, i))
	}
	other := upload(t, b, openai.FilePurposeBatch, 9)
	var batch []openai.FileObject
	for _, f := range files {
		if f.Purpose == openai.FileObjectPurposeBatch {
			batch = append(batch, f)
		}
	}

	t.Run("list all, newest first", func(t *testing.T) {
		page, err := a.Files.List(ctx, openai.FileListParams{})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if got, want := ids(page.Data), ordered(files, true); !slices.Equal(got, want) {
			t.Errorf("listed %v, want %v", got, want)
		}
		if page.HasMore {
			t.Errorf("page: has_more true, want false")
		}
	})
	for _, order := range []openai.FileListParamsOrder{openai.FileListParamsOrderAsc, openai.FileListParamsOrderDesc} {
		t.Run("auto-paging at limit 1, purpose batch, "+string(order), func(t *testing.T) {
			var got []string
			pages := a.Files.ListAutoPaging(ctx, openai.FileListParams{Limit: openai.Int(1), Order: order, Purpose: openai.String("batch")})
			for pages.Next() {
				got = append(got, pages.Current().ID)
			}
			if err := pages.Err(); err != nil {
				t.Fatalf("auto-paging: %v", err)
			}
			if want := ordered(batch, order == openai.FileListParamsOrderDesc); !slices.Equal(got, want) {
				t.Errorf("listed %v, want %v", got, want)
			}
		})
	}
	t.Run("a page of one says more follow", func(t *testing.T) {
		page, err := a.Files.List(ctx, openai.FileListParams{Limit: openai.Int(1)})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if len(page.Data) != 1 || !page.HasMore {
			t.Errorf("page of 1: %d Files, has_more %v", len(page.Data), page.HasMore)
		}
	})
	t.Run("another key's Files are never listed", func(t *testing.T) {
		page, err := b.Files.List(ctx, openai.FileListParams{})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if got := ids(page.Data); !slices.Equal(got, []string{other.ID}) {
			t.Errorf("key B lists %v, want only its own %s", got, other.ID)
		}
		wantGone(t, "B deletes A's File", deleteErr(b, files[0].ID), files[0].ID)
	})
	t.Run("delete", func(t *testing.T) {
		gone := files[2]
		d, err := a.Files.Delete(ctx, gone.ID)
		if err != nil {
			t.Fatalf("delete: %v", err)
		}
		if d.ID != gone.ID || !d.Deleted || d.Object != "file" {
			t.Errorf("delete answered %+v", d)
		}
		_, err = a.Files.Get(ctx, gone.ID)
		wantGone(t, "retrieve after delete", err, gone.ID)
		_, err = a.Files.Content(ctx, gone.ID)
		wantGone(t, "content after delete", err, gone.ID)
		wantGone(t, "delete again", deleteErr(a, gone.ID), gone.ID)
		page, err := a.Files.List(ctx, openai.FileListParams{})
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		rest := slices.DeleteFunc(slices.Clone(files), func(f openai.FileObject) bool { return f.ID == gone.ID })
		if got, want := ids(page.Data), ordered(rest, true); !slices.Equal(got, want) {
			t.Errorf("after the delete, listed %v, want %v", got, want)
		}
		// The others are whole.
		resp, err := a.Files.Content(ctx, files[0].ID)
		if err != nil {
			t.Fatalf("content of another File: %v", err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(resp.Body); err != nil || buf.String() != content(0) {
			t.Errorf("content of another File: %q, %v", buf.String(), err)
		}
	})
}

// upload makes a File of purpose through the SDK's uploads, its content content(i).
func upload(t *testing.T, c openai.Client, purpose openai.FilePurpose, i int) openai.FileObject {
	t.Helper()
	ctx := context.Background()
	data := content(i)
	up, err := c.Uploads.New(ctx, openai.UploadNewParams{Bytes: int64(len(data)), Filename: "f.jsonl", MimeType: "text/jsonl", Purpose: purpose})
	if err != nil {
		t.Fatalf("create upload: %v", err)
	}
	p, err := c.Uploads.Parts.New(ctx, up.ID, openai.UploadPartNewParams{Data: strings.NewReader(data)})
	if err != nil {
		t.Fatalf("add part: %v", err)
	}
	done, err := c.Uploads.Complete(ctx, up.ID, openai.UploadCompleteParams{PartIDs: []string{p.ID}})
	if err != nil {
		t.Fatalf("complete: %v", err)
	}
	return done.File
}

func content(i int) string { return `{"n": ` + strings.Repeat("1", i+1) + "}\n" }

func ids(files []openai.FileObject) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.ID
	}
	return out
}

// ordered is the IDs of files in the order the API lists them: by created_at, then by ID.
func ordered(files []openai.FileObject, desc bool) []string {
	files = slices.Clone(files)
	slices.SortFunc(files, func(x, y openai.FileObject) int {
		c := int(x.CreatedAt - y.CreatedAt)
		if c == 0 {
			c = strings.Compare(x.ID, y.ID)
		}
		if desc {
			return -c
		}
		return c
	})
	return ids(files)
}

func deleteErr(c openai.Client, id string) error {
	_, err := c.Files.Delete(context.Background(), id)
	return err
}

// wantGone checks that err is the live service's 404 for a File that does not exist.
func wantGone(t *testing.T, what string, err error, id string) {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Errorf("%s: %v, want a 404 *openai.Error", what, err)
		return
	}
	if apiErr.StatusCode != http.StatusNotFound || apiErr.Param != "id" || apiErr.Code != "" ||
		apiErr.Message != "No such File object: "+id || apiErr.Type != "invalid_request_error" {
		t.Errorf("%s: %d type %q param %q code %q message %q; want 404 invalid_request_error, id, null, %q",
			what, apiErr.StatusCode, apiErr.Type, apiErr.Param, apiErr.Code, apiErr.Message, "No such File object: "+id)
	}
}
