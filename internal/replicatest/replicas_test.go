package replicatest_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
)

// TestTwoReplicas runs the scenario on replicas in this process (two servers, two stores, two
// loopback ports) and on two server processes built from cmd/uploads-server.
func TestTwoReplicas(t *testing.T) {
	t.Run("InProcess", func(t *testing.T) {
		cfg := storeConfig(t)
		exercise(t, startInProcess(t, cfg), startInProcess(t, cfg))
	})
	t.Run("Processes", func(t *testing.T) {
		bin := buildServer(t)
		cfg := storeConfig(t)
		exercise(t, startProcess(t, bin, cfg), startProcess(t, bin, cfg))
	})
}

// exercise runs the scenario against replicas a and b.
func exercise(t *testing.T, a, b *replica) {
	t.Run("PartsOnBothCompleteOnOneCancelOnOther", func(t *testing.T) { partsOnBoth(t, a, b) })
	t.Run("CancelCompleteRace", func(t *testing.T) { cancelCompleteRace(t, a, b) })
}

// partsOnBoth sends the parts of one upload to a and b alternately, completes it on a in an order
// of its own, has b try to cancel it, and downloads the file from both.
func partsOnBoth(t *testing.T, a, b *replica) {
	replicas := []*replica{a, b}
	rng := rand.New(rand.NewPCG(1, 2))
	// One part is above 8 MiB, which the store streams to the bucket instead of sending from memory.
	sizes := []int{1, 700, 64 << 10, 3, 1 << 20, 4096, 9 << 20, 12345}
	parts := make([][]byte, len(sizes))
	total := 0
	fill := rand.NewChaCha8([32]byte{1})
	for i, n := range sizes {
		parts[i] = make([]byte, n)
		_, _ = fill.Read(parts[i])
		total += n
	}
	uploadID := a.createUpload(t, total)

	ids := make([]string, len(parts))
	var wg sync.WaitGroup
	for i, data := range parts {
		r := replicas[i%2]
		wg.Go(func() { ids[i] = r.addPart(t, uploadID, data) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// The file's order is not the order the parts were sent in.
	order := rng.Perm(len(parts))
	var want []byte
	partIDs := make([]string, len(order))
	for i, k := range order {
		partIDs[i] = ids[k]
		want = append(want, parts[k]...)
	}
	sum := md5.Sum(want)

	completeStatus, fileID := a.complete(t, uploadID, partIDs, hex.EncodeToString(sum[:]))
	if completeStatus != http.StatusOK {
		t.Fatalf("complete on replica %s answered %d, want 200", a.name, completeStatus)
	}
	// The other replica sees the completion: every cancel attempt, however many at once, is
	// refused.
	const cancels = 4
	cancelStatus := make([]int, cancels)
	for i := range cancels {
		wg.Go(func() { cancelStatus[i] = b.cancel(t, uploadID) })
	}
	wg.Wait()
	for i, st := range cancelStatus {
		if st != http.StatusBadRequest {
			t.Errorf("cancel %d on replica %s after completion answered %d, want 400", i, b.name, st)
		}
	}
	for _, r := range replicas {
		if st := r.uploadStatus(t, uploadID); st != "completed" {
			t.Errorf("replica %s: upload status %q, want completed", r.name, st)
		}
		got := r.download(t, fileID)
		if !bytes.Equal(got, want) {
			t.Errorf("replica %s: file of %d bytes differs from the parts in part_ids order (%d bytes)", r.name, len(got), len(want))
		}
	}
}

// cancelCompleteRace races, for several uploads, a complete on a against a cancel on b: exactly
// one answers 200, the other 400, and both replicas then report the winner's status.
func cancelCompleteRace(t *testing.T, a, b *replica) {
	const rounds = 10
	wins := map[string]int{}
	for range rounds {
		uploadID := a.createUpload(t, 4)
		partID := b.addPart(t, uploadID, []byte("race"))
		var completeStatus, cancelStatus int
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; completeStatus, _ = a.complete(t, uploadID, []string{partID}, "") })
		wg.Go(func() { <-start; cancelStatus = b.cancel(t, uploadID) })
		close(start)
		wg.Wait()
		var winner string
		switch {
		case completeStatus == http.StatusOK && cancelStatus == http.StatusBadRequest:
			winner = "completed"
		case cancelStatus == http.StatusOK && completeStatus == http.StatusBadRequest:
			winner = "cancelled"
		default:
			t.Fatalf("upload %s: complete answered %d, cancel %d; want one 200 and one 400", uploadID, completeStatus, cancelStatus)
		}
		for _, r := range []*replica{a, b} {
			if st := r.uploadStatus(t, uploadID); st != winner {
				t.Errorf("upload %s on replica %s: status %q, want %q", uploadID, r.name, st, winner)
			}
		}
		wins[winner]++
	}
	t.Logf("winners over %d rounds: %v", rounds, wins)
}

// readAll reads a response body, failing t on error.
func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Errorf("read response: %v", err)
	}
	return b
}
