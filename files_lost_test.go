package uploads

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/uploadkit/uploads/internal/faultproxy"
)

// completedFile makes a File of data through c and returns its ID.
func completedFile(t *testing.T, c *Client, data string) string {
	t.Helper()
	up, partID := pendingUpload(t, c, data)
	done, err := c.Complete(context.Background(), up.ID, CompleteParams{PartIDs: []string{partID}})
	if err != nil {
		t.Fatalf("complete: %v", err)
	}
	return done.File.ID
}

func deleteRule(fault faultproxy.Fault) faultproxy.Rule {
	return faultproxy.Rule{Method: "DELETE", Path: "/v1/files/*", Nth: 1, Fault: fault}
}

// DeleteFile whose first answer is lost after the server deleted the File: the retry is answered
// 404, and DeleteFile says the File is gone, most likely by the lost attempt, in a
// *DeletedEarlierError that is still a 404.
func TestDeleteFileAfterALostAnswer(t *testing.T) {
	c, direct, proxy := lossyClients(t, deleteRule(faultproxy.LoseAnswer))
	fileID := completedFile(t, direct, `{"a":1}`)

	d, err := c.DeleteFile(t.Context(), fileID)
	var earlier *DeletedEarlierError
	if d != nil || !errors.Is(err, ErrDeletedEarlier) || !errors.As(err, &earlier) {
		t.Fatalf("DeleteFile: %+v, %v; want a DeletedEarlierError", d, err)
	}
	if earlier.FileID != fileID || earlier.Lost == nil || earlier.NotFound == nil || earlier.NotFound.StatusCode != 404 {
		t.Errorf("error = %+v", earlier)
	}
	if !IsNotFound(err) || !strings.Contains(err.Error(), "the File is gone") || !strings.Contains(err.Error(), "No such File object: "+fileID) {
		t.Errorf("error %q: want a 404 that says the File is gone", err)
	}
	if _, err := direct.RetrieveFile(t.Context(), fileID); !IsNotFound(err) {
		t.Errorf("the server still has the File: %v", err)
	}
	if ev := proxy.Events(); len(ev) != 1 || ev[0].Status != 200 || ev[0].Method != "DELETE" {
		t.Errorf("proxy events = %+v; want one lost 200 to DELETE", ev)
	}
}

// DeleteFile whose first attempt is reset before it reaches the server deletes the File on the
// retry, and says so.
func TestDeleteFileAfterAReset(t *testing.T) {
	c, direct, _ := lossyClients(t, deleteRule(faultproxy.ResetBeforeForward))
	fileID := completedFile(t, direct, `{"a":1}`)
	d, err := c.DeleteFile(t.Context(), fileID)
	if err != nil || d.ID != fileID || !d.Deleted {
		t.Fatalf("DeleteFile: %+v, %v", d, err)
	}
	if _, err := direct.RetrieveFile(t.Context(), fileID); !IsNotFound(err) {
		t.Errorf("the server still has the File: %v", err)
	}
}

// A 404 on the first attempt is an ordinary not-found *APIError, whether the File never existed
// or was deleted before; the proxy that would lose an answer passes these, as no rule picks them
// after the first DELETE.
func TestDeleteFileNotFoundIsAnAPIError(t *testing.T) {
	c, direct, _ := lossyClients(t)
	deleted := completedFile(t, direct, `{"a":1}`)
	if _, err := direct.DeleteFile(t.Context(), deleted); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"file-never-existed", deleted} {
		_, err := c.DeleteFile(t.Context(), id)
		var apiErr *APIError
		if errors.Is(err, ErrDeletedEarlier) || !errors.As(err, &apiErr) || apiErr.StatusCode != 404 ||
			apiErr.Param != "id" || apiErr.Message != "No such File object: "+id {
			t.Errorf("DeleteFile(%s): %v; want the API's 404", id, err)
		}
		if strings.Contains(err.Error(), "gone") {
			t.Errorf("DeleteFile(%s): %q claims an earlier attempt", id, err)
		}
	}
}
