package pgstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/uploadkit/uploads/store"
	"github.com/uploadkit/uploads/store/pgstore/pgstoretest"
)

// TestCancelCompleteRaceAcrossStores: a complete on one store and a cancel on another, both on
// one database, started together: exactly one wins, the loser is told the winner's status, and
// what is stored agrees with the winner.
func TestCancelCompleteRaceAcrossStores(t *testing.T) {
	cfg := pgstoretest.Config(t)
	a, b := openPair(t, cfg, pgstoretest.OpenWith)
	ctx := context.Background()
	const rounds = 20
	wins := map[store.Status]int{}
	for range rounds {
		u := createUpload(t, a, 4)
		p := addPart(t, b, u.ID, []byte("race"), 100)
		var wg sync.WaitGroup
		var completeErr, cancelErr error
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			_, _, completeErr = a.Complete(ctx, owner, u.ID, []string{p.ID}, "", newFileID(), store.At(t0))
		})
		wg.Go(func() {
			<-start
			_, cancelErr = b.Cancel(ctx, owner, u.ID, t0)
		})
		close(start)
		wg.Wait()

		var winner store.Status
		var loserErr error
		switch {
		case completeErr == nil && cancelErr == nil:
			t.Fatalf("upload %s: both complete and cancel succeeded", u.ID)
		case completeErr == nil:
			winner, loserErr = store.StatusCompleted, cancelErr
		case cancelErr == nil:
			winner, loserErr = store.StatusCancelled, completeErr
		default:
			t.Fatalf("upload %s: both failed: complete %v; cancel %v", u.ID, completeErr, cancelErr)
		}
		var se *store.StateError
		if !errors.As(loserErr, &se) || se.Status != winner {
			t.Errorf("upload %s: loser's error %v, want a StateError saying %s", u.ID, loserErr, winner)
		}
		for name, s := range map[string]store.Store{"a": a, "b": b} {
			got, err := s.GetUpload(ctx, owner, u.ID, t0)
			if err != nil || got.Status != winner {
				t.Errorf("upload %s on store %s: %s, %v; want %s", u.ID, name, got.Status, err, winner)
			}
		}
		wins[winner]++
	}
	t.Logf("winners over %d rounds: %v", rounds, wins)
}
