package pgstore

import (
	"context"
	"sync"
)

// The remover takes the release of the parts a completion leaves out of its file off the request
// path. Complete marks the upload releasing in its transaction, so nothing is lost to a crash: the
// sweeper (on any replica) finds the mark and releases what the remover did not. After the commit,
// Complete only queues the upload here; one goroutine per Store releases the queued uploads, one
// at a time, each within cleanupTimeout.

// maxRemovals bounds the queue of uploads waiting for the remover. Past it, a completion leaves its
// upload to the sweeper instead, which finds it marked releasing.
const maxRemovals = 10000

// remover is the queue of uploads whose left-out parts are to be released, and the state of the
// goroutine that releases them.
type remover struct {
	mu      sync.Mutex
	queue   []string   // upload ids, oldest first
	running int        // releases in progress, taken from the queue
	idle    *sync.Cond // signalled, with mu, when running drops to 0

	kick chan struct{} // a run is due
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the goroutine ends

	stopOnce sync.Once
}

// startRemover starts the background remover; Close stops it.
func (s *Store) startRemover() {
	r := &s.removals
	r.idle = sync.NewCond(&r.mu)
	r.kick = make(chan struct{}, 1)
	r.stop = make(chan struct{})
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		for {
			select {
			case <-r.stop:
				// Finish what is queued, within one cleanupTimeout in all; the sweeper
				// releases whatever this leaves.
				ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
				s.releaseQueued(ctx)
				cancel()
				return
			case <-r.kick:
			}
			s.releaseQueued(context.Background())
		}
	}()
}

// removeLater queues the release of an upload's left-out parts and wakes the remover. It reports
// false, leaving the upload to the sweeper, when the queue is full.
func (s *Store) removeLater(uploadID string) bool {
	r := &s.removals
	r.mu.Lock()
	if len(r.queue) >= maxRemovals {
		r.mu.Unlock()
		return false
	}
	r.queue = append(r.queue, uploadID)
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default: // a run is already due
	}
	return true
}

// releaseQueued releases the queued uploads until the queue is empty. Each release is bounded by
// cleanupTimeout within ctx; a failed one is left to the sweeper.
func (s *Store) releaseQueued(ctx context.Context) {
	for {
		id, ok := s.nextRemoval()
		if !ok {
			return
		}
		rctx, cancel := context.WithTimeout(ctx, cleanupTimeout)
		_, _ = s.release(rctx, id)
		cancel()
		s.removalDone()
	}
}

// nextRemoval takes the oldest queued upload, counting its release as running.
func (s *Store) nextRemoval() (string, bool) {
	r := &s.removals
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 {
		return "", false
	}
	id := r.queue[0]
	r.queue = r.queue[1:]
	if len(r.queue) == 0 {
		r.queue = nil
	}
	r.running++
	return id, true
}

// removalDone counts a release taken by nextRemoval as finished.
func (s *Store) removalDone() {
	r := &s.removals
	r.mu.Lock()
	r.running--
	if r.running == 0 {
		r.idle.Broadcast()
	}
	r.mu.Unlock()
}

// stopRemover stops the remover, which first finishes what is queued, and waits for it.
func (s *Store) stopRemover() {
	r := &s.removals
	if r.stop == nil {
		return
	}
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
}

// Settle releases now the left-out parts of the completions the background remover has yet to
// release, and waits for a release it is running, so that the bucket is as it will be. Tests call
// it; a program never needs to.
func (s *Store) Settle(ctx context.Context) error {
	for {
		id, ok := s.nextRemoval()
		if !ok {
			break
		}
		_, err := s.release(ctx, id)
		s.removalDone()
		if err != nil {
			return err
		}
	}
	r := &s.removals
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.running > 0 {
		r.idle.Wait()
	}
	return nil
}
