package server_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/uploadkit/uploads/gen"
)

// A cancel and a complete of the same upload racing each other: exactly one wins, the other is
// told the upload is no longer pending, and the upload ends in the winner's state.
func TestCancelCompleteRace(t *testing.T) {
	e := newEnv(t)
	const rounds = 25
	wins := map[string]int{}
	for range rounds {
		u := e.createUpload(keyA, 4)
		p := e.mustAddPart(keyA, u.ID, []byte("race"))

		var cancel, complete reply
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			cancel = e.do("POST", "/uploads/"+u.ID+"/cancel", keyA, "", nil)
		})
		wg.Go(func() {
			<-start
			complete = e.complete(keyA, u.ID, []string{p}, "")
		})
		close(start)
		wg.Wait()

		switch {
		case cancel.Status == http.StatusOK && complete.Status == http.StatusBadRequest:
			wins["cancel"]++
			checkEnvelope(t, complete, wantEnvelope{400, invalid, "upload_id", "", "already cancelled"})
			checkEnvelope(t, e.complete(keyA, u.ID, []string{p}, ""), wantEnvelope{400, invalid, "upload_id", "", "already cancelled"})
		case complete.Status == http.StatusOK && cancel.Status == http.StatusBadRequest:
			wins["complete"]++
			checkEnvelope(t, cancel, wantEnvelope{400, invalid, "upload_id", "", "already completed"})
			f := decode[gen.Upload](t, complete).File
			if r := e.do("GET", "/files/"+f.ID+"/content", keyA, "", nil); string(r.Body) != "race" {
				t.Errorf("the winning complete's file holds %q", r.Body)
			}
		default:
			t.Fatalf("cancel %d %s, complete %d %s: want exactly one 200", cancel.Status, cancel.Body, complete.Status, complete.Body)
		}
	}
	t.Logf("wins: %v", wins)
}
